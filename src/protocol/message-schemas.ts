import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { messageLimits } from './message-limits.js';

/**
 * Every message of the agent protocol (docs/agent-protocol.md) and of registration, defined once:
 * the TypeBox schema is the check, its `Static` the type. Unknown fields are allowed (a newer peer
 * may add some); a field present with the wrong type or past its bound makes the message malformed.
 * Only types are taken from here at run time: the checks are compiled ahead of time into
 * message-checks.ts (`npm run generate:checks`), so neither side loads TypeBox to read a frame.
 */

/** The messages are read-only through and through, as they were when written by hand. */
export type Immutable<T> = T extends readonly (infer E)[]
  ? readonly Immutable<E>[]
  : T extends object
    ? { readonly [K in keyof T]: Immutable<T[K]> }
    : T;

/** The type a schema checks, read-only. */
export type Message<T extends TSchema> = Immutable<Static<T>>;

// A count, an offset or a time in ms: what `Number.isSafeInteger` and `>= 0` accepted by hand.
const count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const safeInteger = Type.Integer({ minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
const id = Type.String({ maxLength: messageLimits.idChars });
const text = Type.String({ maxLength: messageLimits.textChars });
const osType = Type.Union([Type.Literal('linux'), Type.Literal('windows')]);
const terminationMode = Type.Union([Type.Literal('Process'), Type.Literal('ProcessTree')]);

// Registration (POST /agent/v1/register). The credentials are non-empty: the server answers
// MissingParameter for an absent or empty one, before it checks the rest.
export const RegisterRequestSchema = Type.Object({
  activationId: Type.String({ minLength: 1, maxLength: messageLimits.idChars }),
  activationCode: Type.String({ minLength: 1, maxLength: messageLimits.textChars }),
  hostname: text,
  osType,
  osVersion: text,
  agentVersion: text,
  machineId: text,
});
export const RegisterResponseSchema = Type.Object({
  instanceId: Type.String({ minLength: 1 }),
  token: Type.String({ minLength: 1 }),
});
/** What a refused registration or deregistration answers (the API's error body), as far as the agent reads it. */
export const RefusalSchema = Type.Object({
  Code: Type.Optional(Type.String()),
  Message: Type.Optional(Type.String()),
});

// Agent → server.
export const HeldRunSchema = Type.Object({ invokeId: id, execution: count });

export const FinishedStatusSchema = Type.Union([
  Type.Literal('Success'),
  Type.Literal('Failed'),
  Type.Literal('Timeout'),
  Type.Literal('Terminated'),
  Type.Literal('Error'),
]);

/** Unix time in nanoseconds, in decimal (OTLP's own form: a number would lose the nanoseconds). */
const unixNano = Type.String({ pattern: '^[0-9]{1,20}$' });
/**
 * A span the agent recorded of a run whose task carried a `traceparent` (docs/tracing.md): plain
 * data, which the server checks against the trace it sent for that run and exports for the agent.
 */
export const AgentSpanSchema = Type.Object({
  traceId: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  spanId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  parentSpanId: Type.String({ pattern: '^[0-9a-f]{16}$' }),
  name: Type.String({ minLength: 1, maxLength: messageLimits.spanNameChars }),
  startTimeUnixNano: unixNano,
  endTimeUnixNano: unixNano,
  attributes: Type.Array(
    Type.Object({
      key: Type.String({ pattern: `^[a-z][a-z0-9_.]{0,${messageLimits.spanNameChars - 1}}$` }),
      value: Type.Union([
        Type.String({ maxLength: messageLimits.spanAttributeChars }),
        safeInteger,
        Type.Boolean(),
      ]),
    }),
    { maxItems: messageLimits.spanAttributes },
  ),
});

// Output first: the most frequent event, and the check tries the kinds in this order.
export const TaskEventSchema = Type.Union([
  /** Output bytes from `offset` on, Base64; the offset makes a re-sent chunk harmless. */
  Type.Object({
    kind: Type.Literal('output'),
    offset: count,
    data: Type.String({ maxLength: messageLimits.outputDataChars }),
  }),
  /** `scheduledAtMs`: when a scheduled run was due. */
  Type.Object({ kind: Type.Literal('accepted'), scheduledAtMs: Type.Optional(count) }),
  Type.Object({ kind: Type.Literal('started'), atMs: count }),
  Type.Object({
    kind: Type.Literal('finished'),
    atMs: count,
    status: FinishedStatusSchema,
    exitCode: Type.Union([safeInteger, Type.Null()]),
    errorCode: text,
    errorInfo: Type.String({ maxLength: messageLimits.errorInfoChars }),
    /** Output bytes beyond the agent's cap, never sent. */
    droppedBytes: count,
    /**
     * Output bytes the agent sent (where its next chunk would start): the server counts any it
     * never received as dropped. Absent from older agents.
     */
    outputBytes: Type.Optional(count),
    /** The run's spans, when its task carried a `traceparent` (absent from older agents). */
    spans: Type.Optional(Type.Array(AgentSpanSchema, { maxItems: messageLimits.spans })),
  }),
]);

export const HelloSchema = Type.Object({
  type: Type.Literal('hello'),
  protocolVersion: count,
  agentVersion: text,
  bootId: text,
  hostname: text,
  osType,
  osVersion: text,
  timeZone: text,
  /** `process.arch` (`x64`, `arm64`): which executable upgrades it. Absent from older agents. */
  arch: Type.Optional(Type.String({ maxLength: messageLimits.idChars })),
  shells: Type.Array(text, { maxItems: messageLimits.shells }),
  /** The Period tasks whose schedules the agent holds and still evaluates. */
  schedules: Type.Optional(Type.Array(id, { maxItems: messageLimits.heldEntries })),
  /**
   * The runs the agent holds: not finished, or with events not yet acknowledged. A run the
   * server has delivered that is not listed was lost on the agent (absent: not reported).
   */
  runs: Type.Optional(Type.Array(HeldRunSchema, { maxItems: messageLimits.heldEntries })),
});
/**
 * What the agent says of itself with each heartbeat: its journal file's size and the events it
 * holds that the server has not acknowledged (docs/agent-protocol.md, "Health"). Its resource caps
 * reach the server in `resource-usage` reports.
 */
export const AgentHealthSchema = Type.Object({ journalBytes: count, pendingEvents: count });
export const HeartbeatSchema = Type.Object({
  type: Type.Literal('heartbeat'),
  activeTasks: count,
  /** Absent from older agents. */
  health: Type.Optional(AgentHealthSchema),
});
/** Sent when the agent stops because the operating system is shutting down: the instance is Stopped. */
export const ShutdownSchema = Type.Object({ type: Type.Literal('shutdown') });
export const EventSchema = Type.Object({
  type: Type.Literal('event'),
  eventId: id,
  invokeId: id,
  /** Which run of the task (absent: 0, the task itself). */
  execution: Type.Optional(count),
  event: TaskEventSchema,
});
/**
 * What the agent applied of the resource caps it was last told (ResourceUsageConfig): sent after
 * every welcome and every change. `none`: no caps asked and nothing touched; `applied`: written
 * into `cgroup` (`mechanism`); `unavailable`: asked but not applied, `reason` says why.
 */
export const ResourceUsageReportSchema = Type.Object({
  type: Type.Literal('resource-usage'),
  state: Type.Union([Type.Literal('none'), Type.Literal('applied'), Type.Literal('unavailable')]),
  mechanism: Type.Optional(Type.Union([Type.Literal('cgroup2'), Type.Literal('cgroup1')])),
  cgroup: Type.Optional(text),
  cpuPercent: Type.Optional(count),
  memoryBytes: Type.Optional(count),
  reason: Type.Optional(text),
});
/** Every agent message, the most frequent first (the parser compares the type in this order). */
export const agentMessageSchemas = [
  EventSchema,
  HeartbeatSchema,
  HelloSchema,
  ShutdownSchema,
  ResourceUsageReportSchema,
] as const;

// Server → agent: the server is the authority on its own texts, so they have no length bounds here.

/**
 * A file to place instead of a script to run (SendFile): `name` inside `targetDir` (made when
 * missing), owned by `owner`:`group` with `mode` (0 to 0o7777), replacing an existing entry only
 * with `overwrite`. Where its bytes come from is one optional field per source, exactly one
 * present: `content`, the bytes themselves in Base64 (SendFile's 32 KB), or `download`, a file
 * uploaded beyond that, which the agent fetches from the server's `path` (`filesPath` and the
 * invoke id), checking `sizeBytes` and `sha256` (lower-case hex) before it takes its name
 * (docs/file-transfer.md). An agent that knows no source present fails the run.
 */
export const FileTaskSchema = Type.Object({
  name: Type.String(),
  targetDir: Type.String(),
  owner: Type.String(),
  group: Type.String(),
  mode: Type.Integer({ minimum: 0, maximum: 0o7777 }),
  overwrite: Type.Boolean(),
  content: Type.Optional(Type.String()),
  download: Type.Optional(
    Type.Object({ path: Type.String(), sizeBytes: Type.Integer({ minimum: 0 }), sha256: Type.String() }),
  ),
});

/** A task as the agent receives it: the final script, parameters already substituted. */
export const TaskSpecSchema = Type.Object({
  invokeId: Type.String(),
  commandType: Type.String(),
  script: Type.String(),
  username: Type.String(),
  workingDir: Type.String(),
  timeoutSeconds: count,
  terminationMode,
  /** Windows only: the password of `username`, from the secret WindowsPasswordName names. */
  password: Type.Optional(Type.String()),
  /** Run n of an EveryReboot task (absent: the task's only run). */
  execution: Type.Optional(count),
  /**
   * A Period task: the agent holds the schedule and numbers its runs 1, 2, … itself. `startMs` is
   * the invocation's creation (a rate() runs first one interval after it).
   */
  schedule: Type.Optional(Type.Object({ frequency: Type.String(), startMs: count })),
  /**
   * Run inside this container instead of on the host: `runtime` docker, containerd or cri-o
   * (absent: the Docker API, then CRI), `id` 64 hex characters or empty, `name` or empty.
   */
  container: Type.Optional(
    Type.Object({ runtime: Type.Optional(Type.String()), id: Type.String(), name: Type.String() }),
  ),
  /**
   * Place this file instead of running the script (which is then empty). Only agents of 0.4.0 and
   * later receive it: an older one ignores the field and would report the empty script a Success.
   */
  file: Type.Optional(FileTaskSchema),
  /**
   * W3C `traceparent` of the server's `dispatch` span, when the server traces this run
   * (docs/tracing.md): the agent sends its spans of the run back on the finished event. Older
   * agents ignore it.
   */
  traceparent: Type.Optional(Type.String()),
});

/** The caps an agent puts on itself (ResourceUsageConfig): CPU in percent of one CPU, memory in bytes; absent: none. */
export const ResourceCapsSchema = Type.Object({
  cpuPercent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  memoryBytes: Type.Optional(count),
});
export const WelcomeSchema = Type.Object({
  type: Type.Literal('welcome'),
  instanceId: Type.String(),
  heartbeatSeconds: count,
  /** The caps of the instance's region (absent from older servers: the agent changes nothing). */
  resourceCaps: Type.Optional(ResourceCapsSchema),
});
export const TaskSchema = Type.Object({ type: Type.Literal('task'), task: TaskSpecSchema });
export const CancelSchema = Type.Object({
  type: Type.Literal('cancel'),
  invokeId: Type.String(),
  terminationMode,
});
export const AckSchema = Type.Object({ type: Type.Literal('ack'), eventIds: Type.Array(Type.String()) });
/**
 * The server's executable is newer than the agent: download `path` from the server, check its
 * sha256, and swap it in inside one of `windows` (`HH:mm-HH:mm` in `timeZone`; none: any time).
 */
export const UpgradeOfferSchema = Type.Object({
  type: Type.Literal('upgrade'),
  version: Type.String(),
  /**
   * Absolute path on the server, such as `/agent/download/openassist-agent-linux-x64`; a path on
   * the same server: `//host/…` would name another host.
   */
  path: Type.String({ pattern: '^/(?!/)' }),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  sizeBytes: count,
  windows: Type.Array(Type.String()),
  timeZone: Type.String(),
});
/** The region's ResourceUsageConfig changed: apply these caps now (and report what was applied). */
export const ResourceCapsOrderSchema = Type.Object({
  type: Type.Literal('resource-caps'),
  caps: ResourceCapsSchema,
});
/**
 * A terminal session waits for this agent (docs/terminal-sessions.md): dial `relayUrl` (absent: the
 * agent's own server) at `/agent/v1/sessions/<sessionId>` and serve a shell, or with `portNumber`
 * forward connections to `targetServer:portNumber`.
 */
export const SessionOpenSchema = Type.Object({
  type: Type.Literal('session-open'),
  sessionId: id,
  relayUrl: Type.Optional(
    Type.String({ maxLength: messageLimits.textChars, pattern: '^(http|https|ws|wss)://' }),
  ),
  username: Type.Optional(Type.String({ maxLength: 255 })),
  commandLine: Type.Optional(Type.String({ maxLength: 512 })),
  portNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  targetServer: Type.Optional(Type.String({ maxLength: 255 })),
});
/** Every server message, the most frequent first (the parser compares the type in this order). */
export const serverMessageSchemas = [
  AckSchema,
  TaskSchema,
  CancelSchema,
  WelcomeSchema,
  UpgradeOfferSchema,
  ResourceCapsOrderSchema,
  SessionOpenSchema,
] as const;
