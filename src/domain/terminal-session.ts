import { isIP } from 'node:net';
import { isRecord } from '../guards.js';
import { ApiError } from './errors.js';
import { validateUsername } from './invocation.js';

/** A session's state, as DescribeTerminalSessions shows its connection (docs/terminal-sessions.md). */
export type SessionStatus = 'Pending' | 'Connecting' | 'Connected' | 'Closed' | 'Failed';
export const liveSessionStatuses: readonly SessionStatus[] = ['Pending', 'Connecting', 'Connected'];

/** Why a session ended (`ClosedReason`). */
export const closedReasons = [
  'ShellExited',
  'ClientClosed',
  'EndedByApi',
  'IdleTimeout',
  'MaxDurationExceeded',
  'AgentDisconnected',
  'AgentNotConnected',
  'TokenExpired',
  'UserNotExists',
  'StartFailed',
  'ProtocolError',
  'ServerShutdown',
] as const;
export type ClosedReason = (typeof closedReasons)[number];
export const isClosedReason = (value: string): value is ClosedReason =>
  (closedReasons as readonly string[]).includes(value);

/** Reasons that mean the session never served its purpose: its status is `Failed`, not `Closed`. */
const failures: ReadonlySet<ClosedReason> = new Set([
  'AgentNotConnected',
  'TokenExpired',
  'UserNotExists',
  'StartFailed',
]);

export const endStatus = (reason: ClosedReason): SessionStatus =>
  failures.has(reason) ? 'Failed' : 'Closed';

export const sessionLimitsApi = {
  commandLineChars: 512,
  targetServerChars: 255,
  passwordNameChars: 255,
  encryptionOptionsBytes: 1024,
  /** How long a SecurityToken may wait for its WebSocket. */
  tokenTtlMs: 60_000,
  /** How long the relay waits for the agent to dial back. */
  agentDialMs: 15_000,
} as const;

export interface StartSessionRequest {
  readonly instanceIds: readonly string[];
  readonly commandLine?: string | undefined;
  readonly portNumber?: number | undefined;
  readonly targetServer?: string | undefined;
  readonly username?: string | undefined;
  readonly connectionType?: string | undefined;
  readonly passwordName?: string | undefined;
  readonly encryptionOptions?: string | undefined;
}

/** What a valid request asks for. */
export interface SessionSpec {
  readonly instanceId: string;
  readonly commandLine: string;
  /** 0: a shell; else forward connections to `targetServer:portNumber`. */
  readonly portNumber: number;
  readonly targetServer: string;
  readonly username: string;
  readonly connectionType: string;
  readonly passwordName: string;
  readonly encryptionOptions: string;
}

// A DNS name: labels of letters, digits and hyphens, not starting or ending with a hyphen.
const hostNamePattern =
  /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** StartTerminalSession's checks, shape and limits only, in the parameters' order (docs/terminal-sessions.md). */
export function validateStartSession(request: StartSessionRequest): SessionSpec {
  const [instanceId, ...others] = request.instanceIds;
  if (instanceId === undefined) throw new ApiError('MissingParameter.InstanceIds');
  if (others.length > 0) {
    throw new ApiError(
      'InstanceIds.ExceedLimit',
      'A session connects to one instance: send one InstanceId.N.',
    );
  }
  const commandLine = request.commandLine ?? '';
  if (commandLine.length > sessionLimitsApi.commandLineChars) throw new ApiError('CommandLine.ExceedLimit');
  if (commandLine.includes('\0'))
    throw new ApiError('InvalidParameter', 'CommandLine holds a NUL character.');
  const portNumber = request.portNumber ?? 0;
  if (
    request.portNumber !== undefined &&
    !(Number.isInteger(portNumber) && portNumber >= 1 && portNumber <= 65535)
  ) {
    throw new ApiError('InvalidPortNumber.Malformed', `Got ${portNumber}.`);
  }
  const targetServer = request.targetServer ?? '';
  if (targetServer !== '') {
    const bare = targetServer.replace(/^\[(.*)\]$/, '$1');
    if (
      targetServer.length > sessionLimitsApi.targetServerChars ||
      !(isIP(bare) || hostNamePattern.test(bare))
    ) {
      throw new ApiError(
        'InvalidTargetServer.Malformed',
        `Got ${JSON.stringify(targetServer.slice(0, 64))}.`,
      );
    }
    if (portNumber === 0) throw new ApiError('MissingParameter.PortNumber');
  }
  if (portNumber !== 0 && commandLine !== '') {
    throw new ApiError(
      'InvalidParameter',
      'CommandLine runs a command in a shell; PortNumber forwards a port: send one.',
    );
  }
  const username = validateUsername(request.username ?? '');
  const connectionType = request.connectionType ?? '';
  if (connectionType !== '' && connectionType !== 'Internet' && connectionType !== 'Intranet') {
    throw new ApiError(
      'InvalidParameter.ConnectionType',
      `Got ${JSON.stringify(connectionType.slice(0, 32))}.`,
    );
  }
  const passwordName = request.passwordName ?? '';
  if (passwordName.length > sessionLimitsApi.passwordNameChars)
    throw new ApiError('WindowsPasswordName.ExceedLimit');
  const encryptionOptions = request.encryptionOptions ?? '';
  if (encryptionOptions !== '') checkEncryptionOptions(encryptionOptions);
  return {
    instanceId,
    commandLine,
    portNumber,
    targetServer,
    username,
    connectionType,
    passwordName,
    encryptionOptions,
  };
}

/**
 * `EncryptionOptions` (`Enabled`, `Mode` Auto|Kms, `KMSKeyId`): a session's bytes are protected by
 * the server's TLS, not by a second end-to-end layer, so asking for one (`Enabled: true`) is
 * refused rather than silently not done.
 */
function checkEncryptionOptions(text: string): void {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (Buffer.byteLength(text) > sessionLimitsApi.encryptionOptionsBytes || !isRecord(value)) {
    throw new ApiError('InvalidParameter.EncryptionOptions');
  }
  const { Enabled: enabled, Mode: mode, KMSKeyId: keyId } = value;
  if (
    (enabled !== undefined && typeof enabled !== 'boolean' && enabled !== 'true' && enabled !== 'false') ||
    (mode !== undefined && mode !== 'Auto' && mode !== 'Kms') ||
    (keyId !== undefined && typeof keyId !== 'string')
  ) {
    throw new ApiError(
      'InvalidParameter.EncryptionOptions',
      'Enabled is true or false, Mode Auto or Kms, KMSKeyId a string.',
    );
  }
  if (enabled === true || enabled === 'true') {
    throw new ApiError(
      'InvalidParameter.EncryptionOptions',
      "End-to-end encryption is not offered: the session travels over the server's TLS (wss) when it serves HTTPS.",
    );
  }
}

export interface SessionLimits {
  readonly perInstance: number;
  readonly total: number;
}

/** `SessionCount.ExceedLimit` when one more session would pass a limit. */
export function checkSessionCount(live: { instance: number; total: number }, limits: SessionLimits): void {
  if (live.instance >= limits.perInstance) {
    throw new ApiError(
      'SessionCount.ExceedLimit',
      `The instance has ${live.instance} open sessions, the most allowed.`,
    );
  }
  if (live.total >= limits.total) {
    throw new ApiError(
      'SessionCount.ExceedLimit',
      `The server has ${live.total} open sessions, the most allowed.`,
    );
  }
}

/** `SessionManagerConfig`: sessions on or off, and whether input is recorded (extension, off by default). */
export interface SessionManagerConfig {
  readonly sessionManagerEnabled: boolean;
  readonly recordInput: boolean;
}

export const defaultSessionManagerConfig: SessionManagerConfig = {
  sessionManagerEnabled: true,
  recordInput: false,
};

/** Applies a ModifyCloudAssistantSettings `SessionManagerConfig` JSON over `current`. */
export function readSessionManagerConfig(json: string, current: SessionManagerConfig): SessionManagerConfig {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ApiError('InvalidParameter', 'SessionManagerConfig is not JSON.');
  }
  if (!isRecord(value)) {
    throw new ApiError('InvalidParameter', 'SessionManagerConfig must be a JSON object.');
  }
  const fields = new Map(Object.entries(value));
  const defaultFields = {
    SessionManagerEnabled: defaultSessionManagerConfig.sessionManagerEnabled,
    RecordInput: defaultSessionManagerConfig.recordInput,
  };
  const known = Object.keys(defaultFields);
  const unknown = [...fields.keys()].find((name) => !known.includes(name));
  if (unknown !== undefined) {
    throw new ApiError(
      'InvalidParameter',
      `SessionManagerConfig has no field ${unknown.slice(0, 40)}; use ${known.join(', ')}.`,
    );
  }
  // An empty value clears a field back to its default.
  const flag = (name: keyof typeof defaultFields, fallback: boolean): boolean => {
    const given = fields.get(name);
    if (given === undefined) return fallback;
    if (given === '') return defaultFields[name];
    if (typeof given === 'boolean') return given;
    if (given === 'true' || given === 'false') return given === 'true';
    throw new ApiError('InvalidParameter', `SessionManagerConfig.${name} must be true or false.`);
  };
  return {
    sessionManagerEnabled: flag('SessionManagerEnabled', current.sessionManagerEnabled),
    recordInput: flag('RecordInput', current.recordInput),
  };
}

/** A session as stored. */
export interface TerminalSession extends SessionSpec {
  readonly id: string;
  readonly regionId: string;
  /** The access key that opened it (`PrincipalId`). */
  readonly accessKeyId: string;
  /** `Account` for the root key, `RAMUser` for another (DescribeTerminalSessions' IdentityType). */
  readonly identityType: string;
  readonly recordInput: boolean;
  readonly status: SessionStatus;
  /** The node relaying it, once a client connected. */
  readonly nodeId: string;
  /** The WebSocket client's address. */
  readonly clientIp: string;
  readonly createdAtMs: number;
  readonly tokenExpiresAtMs: number;
  /** When the agent joined (0: not yet). */
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  readonly closedReason: ClosedReason | '';
  readonly failedDetail: string;
  readonly exitCode: number | null;
  readonly recordedBytes: number;
  readonly droppedBytes: number;
}

/** How a session ended. */
export interface SessionEnd {
  readonly reason: ClosedReason;
  readonly detail?: string;
  readonly exitCode?: number | null;
}

/** The recording's two directions: the terminal's output, and (when recorded) its input. */
export type RecordingDirection = 'o' | 'i';
