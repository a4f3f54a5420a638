/**
 * The agent ⇄ server protocol (docs/agent-protocol.md): JSON text frames over one WebSocket.
 * Shared by both sides and nothing else. Every state-changing agent message carries an id that
 * the server acknowledges; both sides ignore duplicates.
 */

export const protocolVersion = 1;
export const channelPath = '/agent/v1/channel';
export const registerPath = '/agent/v1/register';
/** An agent ends its own registration (uninstall): authenticated like the channel. */
export const deregisterPath = '/agent/v1/deregister';
/** Largest frame either side accepts: an output chunk of 64 KiB Base64-encoded, with room to spare. */
export const maxFrameBytes = 256 * 1024;
/** Output is sent in chunks of at most this many raw bytes. */
export const maxOutputChunkBytes = 64 * 1024;

/**
 * Bounds on what one agent message may hold (docs/agent-protocol.md): a message past any of them
 * is malformed (the server closes the channel). Each is well above what a real agent sends.
 */
export const messageLimits = {
  /** Entries of `hello.schedules` and of `hello.runs`: an agent holding more leaves the list out. */
  heldEntries: 2_000,
  /** Characters of an id (invocation, event): the server's are 34, the agent's are counters. */
  idChars: 64,
  /** Characters of a hello's descriptive text (host name, OS version, …) and of an error code. */
  textChars: 1_024,
  /** Entries of `hello.shells`. */
  shells: 16,
  /** Characters of a finished event's `errorInfo`. */
  errorInfoChars: 16 * 1024,
  /** Characters of an output event's Base64 `data`: one chunk of `maxOutputChunkBytes`. */
  outputDataChars: Math.ceil(maxOutputChunkBytes / 3) * 4,
} as const;

export interface RegisterRequest {
  readonly activationId: string;
  readonly activationCode: string;
  readonly hostname: string;
  readonly osType: 'linux' | 'windows';
  readonly osVersion: string;
  readonly agentVersion: string;
  readonly machineId: string;
}

export interface RegisterResponse {
  readonly instanceId: string;
  readonly token: string;
}

/** A task as the agent receives it: the final script, parameters already substituted. */
export interface TaskSpec {
  readonly invokeId: string;
  readonly commandType: string;
  readonly script: string;
  readonly username: string;
  readonly workingDir: string;
  readonly timeoutSeconds: number;
  readonly terminationMode: 'Process' | 'ProcessTree';
  /** Windows only: the password of `username`, from the secret WindowsPasswordName names. */
  readonly password?: string;
  /** Run n of an EveryReboot task (absent: the task's only run). */
  readonly execution?: number;
  /**
   * A Period task: the agent holds the schedule and numbers its runs 1, 2, … itself. `startMs` is
   * the invocation's creation (a rate() runs first one interval after it).
   */
  readonly schedule?: { readonly frequency: string; readonly startMs: number };
  /**
   * Run inside this container instead of on the host: `runtime` docker, containerd or cri-o
   * (absent: the Docker API, then CRI), `id` 64 hex characters or empty, `name` or empty.
   */
  readonly container?: { readonly runtime?: string | undefined; readonly id: string; readonly name: string };
}

export type FinishedStatus = 'Success' | 'Failed' | 'Timeout' | 'Terminated' | 'Error';

export type TaskEvent =
  /** `scheduledAtMs`: when a scheduled run was due. */
  | { readonly kind: 'accepted'; readonly scheduledAtMs?: number }
  | { readonly kind: 'started'; readonly atMs: number }
  /** Output bytes from `offset` on, Base64; the offset makes a re-sent chunk harmless. */
  | { readonly kind: 'output'; readonly offset: number; readonly data: string }
  | {
      readonly kind: 'finished';
      readonly atMs: number;
      readonly status: FinishedStatus;
      readonly exitCode: number | null;
      readonly errorCode: string;
      readonly errorInfo: string;
      /** Output bytes beyond the agent's cap, never sent. */
      readonly droppedBytes: number;
      /**
       * Output bytes the agent sent (where its next chunk would start): the server counts any it
       * never received as dropped. Absent from older agents.
       */
      readonly outputBytes?: number;
    };

/** A run the agent holds, by invocation and run (0: the task itself). */
export interface HeldRun {
  readonly invokeId: string;
  readonly execution: number;
}

export type AgentMessage =
  | {
      readonly type: 'hello';
      readonly protocolVersion: number;
      readonly agentVersion: string;
      readonly bootId: string;
      readonly hostname: string;
      readonly osType: 'linux' | 'windows';
      readonly osVersion: string;
      readonly timeZone: string;
      /** `process.arch` (`x64`, `arm64`): which executable upgrades it. Absent from older agents. */
      readonly arch?: string;
      readonly shells: readonly string[];
      /** The Period tasks whose schedules the agent holds and still evaluates. */
      readonly schedules?: readonly string[];
      /**
       * The runs the agent holds: not finished, or with events not yet acknowledged. A run the
       * server has delivered that is not listed was lost on the agent (absent: not reported).
       */
      readonly runs?: readonly HeldRun[];
    }
  | { readonly type: 'heartbeat'; readonly activeTasks: number }
  /** Sent when the agent stops because the operating system is shutting down: the instance is Stopped. */
  | { readonly type: 'shutdown' }
  | {
      readonly type: 'event';
      readonly eventId: string;
      readonly invokeId: string;
      /** Which run of the task (absent: 0, the task itself). */
      readonly execution?: number;
      readonly event: TaskEvent;
    };

export type ServerMessage =
  | { readonly type: 'welcome'; readonly instanceId: string; readonly heartbeatSeconds: number }
  | { readonly type: 'task'; readonly task: TaskSpec }
  | {
      readonly type: 'cancel';
      readonly invokeId: string;
      readonly terminationMode: 'Process' | 'ProcessTree';
    }
  | { readonly type: 'ack'; readonly eventIds: readonly string[] }
  | UpgradeOffer;

/**
 * The server's executable is newer than the agent: download `path` from the server, check its
 * sha256, and swap it in inside one of `windows` (`HH:mm-HH:mm` in `timeZone`; none: any time).
 */
export interface UpgradeOffer {
  readonly type: 'upgrade';
  readonly version: string;
  /** Absolute path on the server, such as `/agent/download/openassist-agent-linux-x64`. */
  readonly path: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly windows: readonly string[];
  readonly timeZone: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isString = (value: unknown): value is string => typeof value === 'string';
const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
const isText = (value: unknown, maxChars: number = messageLimits.textChars): value is string =>
  typeof value === 'string' && value.length <= maxChars;
const isId = (value: unknown): value is string => isText(value, messageLimits.idChars);
/** An array of at most `maxEntries` entries, each passing `check`. */
const isListOf = <T>(
  value: unknown,
  maxEntries: number,
  check: (entry: unknown) => entry is T,
): value is T[] => Array.isArray(value) && value.length <= maxEntries && value.every((entry) => check(entry));
const isHeldRun = (value: unknown): value is HeldRun =>
  isRecord(value) && isId(value.invokeId) && isCount(value.execution);

function isTaskEvent(value: unknown): value is TaskEvent {
  if (!isRecord(value)) return false;
  switch (value.kind) {
    case 'accepted':
      return value.scheduledAtMs === undefined || isCount(value.scheduledAtMs);
    case 'started':
      return isCount(value.atMs);
    case 'output':
      return isCount(value.offset) && isText(value.data, messageLimits.outputDataChars);
    case 'finished':
      return (
        isCount(value.atMs) &&
        ['Success', 'Failed', 'Timeout', 'Terminated', 'Error'].includes(value.status as string) &&
        (value.exitCode === null || Number.isSafeInteger(value.exitCode)) &&
        isText(value.errorCode) &&
        isText(value.errorInfo, messageLimits.errorInfoChars) &&
        isCount(value.droppedBytes) &&
        (value.outputBytes === undefined || isCount(value.outputBytes))
      );
    default:
      return false;
  }
}

/** A frame's JSON object; an empty one (matching no message type) when the text is not one. */
function jsonRecord(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

/** Parses an agent's frame; undefined when it is not a well-formed message (the server then closes). */
export function parseAgentMessage(text: string): AgentMessage | undefined {
  const value = jsonRecord(text);
  switch (value.type) {
    case 'hello':
      return isCount(value.protocolVersion) &&
        isText(value.agentVersion) &&
        isText(value.bootId) &&
        isText(value.hostname) &&
        (value.osType === 'linux' || value.osType === 'windows') &&
        isText(value.osVersion) &&
        isText(value.timeZone) &&
        (value.arch === undefined || isText(value.arch, messageLimits.idChars)) &&
        isListOf(value.shells, messageLimits.shells, (shell): shell is string => isText(shell)) &&
        (value.schedules === undefined || isListOf(value.schedules, messageLimits.heldEntries, isId)) &&
        (value.runs === undefined || isListOf(value.runs, messageLimits.heldEntries, isHeldRun))
        ? (value as AgentMessage)
        : undefined;
    case 'heartbeat':
      return isCount(value.activeTasks) ? (value as AgentMessage) : undefined;
    case 'shutdown':
      return { type: 'shutdown' };
    case 'event':
      return isId(value.eventId) &&
        isId(value.invokeId) &&
        (value.execution === undefined || isCount(value.execution)) &&
        isTaskEvent(value.event)
        ? (value as AgentMessage)
        : undefined;
    default:
      return undefined;
  }
}

/** Parses a server frame on the agent side. */
export function parseServerMessage(text: string): ServerMessage | undefined {
  const value = jsonRecord(text);
  switch (value.type) {
    case 'welcome':
      return isString(value.instanceId) && isCount(value.heartbeatSeconds)
        ? (value as ServerMessage)
        : undefined;
    case 'task': {
      const task = value.task;
      return isRecord(task) &&
        isString(task.invokeId) &&
        isString(task.script) &&
        isString(task.username) &&
        isString(task.workingDir) &&
        isCount(task.timeoutSeconds) &&
        (task.execution === undefined || isCount(task.execution)) &&
        (task.container === undefined ||
          (isRecord(task.container) && isString(task.container.id) && isString(task.container.name))) &&
        (task.schedule === undefined ||
          (isRecord(task.schedule) && isString(task.schedule.frequency) && isCount(task.schedule.startMs)))
        ? (value as ServerMessage)
        : undefined;
    }
    case 'cancel':
      return isString(value.invokeId) ? (value as ServerMessage) : undefined;
    case 'ack':
      return Array.isArray(value.eventIds) && value.eventIds.every(isString)
        ? (value as ServerMessage)
        : undefined;
    case 'upgrade':
      return isString(value.version) &&
        isString(value.path) &&
        // A path on the same server: `//host/…` would name another host.
        /^\/(?!\/)/.test(value.path) &&
        isString(value.sha256) &&
        /^[0-9a-f]{64}$/.test(value.sha256) &&
        isCount(value.sizeBytes) &&
        Array.isArray(value.windows) &&
        value.windows.every(isString) &&
        isString(value.timeZone)
        ? (value as ServerMessage)
        : undefined;
    default:
      return undefined;
  }
}
