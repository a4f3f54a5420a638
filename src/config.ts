import { join, resolve } from 'node:path';
import { maxOutputChunkBytes } from './protocol/messages.js';

/** How much of one run's output is kept, on the server and sent by the agent (DESIGN §4: 16 MiB). */
export const defaultOutputCapBytes = 16 * 1024 * 1024;
/** How much unacknowledged output the agent's journal keeps for one run, and in all. */
export const defaultJournalRunOutputMaxBytes = 4 * 1024 * 1024;
export const defaultJournalOutputMaxBytes = 64 * 1024 * 1024;

/** A configuration mistake the user must fix; the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface ServerConfig {
  readonly listen: ListenAddress;
  readonly dataDir: string;
  readonly databaseUrl: string;
  readonly regions: readonly string[];
  readonly rootAccessKey: { readonly id: string; readonly secret: string } | undefined;
  readonly deliveryTimeoutSeconds: number;
  /** A started run not reported this long after its Timeout ends `Error` / `ExecutionNotReported`. */
  readonly runGraceSeconds: number;
  /** An event stream whose client reads nothing for this long is dropped. */
  readonly streamStallSeconds: number;
  readonly heartbeatSeconds: number;
  readonly dailyInvocationQuota: number;
  /** Ended invocations older than this many days are deleted with their results (0: kept forever). */
  readonly resultRetentionDays: number;
  /** How much of one run's output the server keeps (DESIGN §4: default 16 MiB). */
  readonly outputCapBytes: number;
  /** Base64 of the 32-byte key for secret parameters; undefined: DATA_DIR/secret.key. */
  readonly secretKey: string | undefined;
  readonly logLevel: string;
  /** Failed registrations (and, apart, failed channel authentications) allowed per source address per minute. */
  readonly authFailuresPerMinute: number;
  /** PEM files of the certificate (chain) and key to serve HTTPS with; undefined: plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /**
   * Where the agent executables this server hands out are (`GET /agent/download/<file>`);
   * undefined: `dist/agent` of this package, where `npm run build` puts them.
   */
  readonly agentDir: string | undefined;
}

/** Flags of `openassist server` / `up`; each has an environment twin (DESIGN §2.3) and flags win. */
export interface ServerFlags {
  listen?: string | undefined;
  data?: string | undefined;
  database?: string | undefined;
  logLevel?: string | undefined;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
}

type Env = Readonly<Record<string, string | undefined>>;

export function parseListen(text: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new ConfigError(`listen address must be HOST:PORT, got "${text}"`);
  return { host: match[1] ?? match[2] ?? '', port };
}

/** A positive number from the environment; `fractions` for settings such as retention in days (0.5: 12 h). */
function positiveNumber(env: Env, name: string, fallback: number, fractions = false): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(fractions ? Number.isFinite(value) : Number.isSafeInteger(value)) || value <= 0)
    throw new ConfigError(`${name} must be a positive ${fractions ? 'number' : 'integer'}, got "${text}"`);
  return value;
}

const positiveInteger = (env: Env, name: string, fallback: number): number =>
  positiveNumber(env, name, fallback);

function rootAccessKey(env: Env): ServerConfig['rootAccessKey'] {
  const id = env.OPENASSIST_ROOT_ACCESS_KEY_ID;
  const secret = env.OPENASSIST_ROOT_ACCESS_KEY_SECRET;
  if (!id && !secret) return undefined;
  if (!id || !secret) {
    throw new ConfigError(
      'set both OPENASSIST_ROOT_ACCESS_KEY_ID and OPENASSIST_ROOT_ACCESS_KEY_SECRET, or neither',
    );
  }
  if (!/^[A-Za-z0-9_-]{4,128}$/.test(id) || secret.length < 8) {
    throw new ConfigError(
      'the root access key id must be 4-128 letters/digits and its secret at least 8 characters',
    );
  }
  return { id, secret };
}

function tlsFiles(flags: ServerFlags, env: Env): ServerConfig['tls'] {
  const certFile = flags.tlsCert ?? (env.OPENASSIST_TLS_CERT || undefined);
  const keyFile = flags.tlsKey ?? (env.OPENASSIST_TLS_KEY || undefined);
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new ConfigError(
      'HTTPS needs both --tls-cert and --tls-key (OPENASSIST_TLS_CERT, OPENASSIST_TLS_KEY)',
    );
  }
  return { certFile: resolve(certFile), keyFile: resolve(keyFile) };
}

/** Resolves the server's options once, from flags and environment; nothing else reads process.env. */
export function loadServerConfig(flags: ServerFlags, env: Env): ServerConfig {
  const dataDir = resolve(flags.data ?? env.OPENASSIST_DATA_DIR ?? './data');
  const databaseUrl =
    flags.database ?? (env.OPENASSIST_DATABASE_URL || `sqlite:${join(dataDir, 'openassist.db')}`);
  const regions = (env.OPENASSIST_REGIONS ?? 'cn-hangzhou')
    .split(',')
    .map((region) => region.trim())
    .filter(Boolean);
  if (regions.length === 0 || regions.some((region) => !/^[a-z0-9-]{2,64}$/.test(region))) {
    throw new ConfigError(
      `OPENASSIST_REGIONS must be a comma list of region ids, got "${env.OPENASSIST_REGIONS}"`,
    );
  }
  return Object.freeze({
    listen: parseListen(flags.listen ?? env.OPENASSIST_LISTEN ?? '127.0.0.1:8080'),
    dataDir,
    databaseUrl,
    regions: Object.freeze(regions),
    rootAccessKey: rootAccessKey(env),
    deliveryTimeoutSeconds: positiveInteger(env, 'OPENASSIST_DELIVERY_TIMEOUT_S', 60),
    runGraceSeconds: positiveInteger(env, 'OPENASSIST_RUN_GRACE_S', 60),
    streamStallSeconds: positiveInteger(env, 'OPENASSIST_STREAM_STALL_S', 60),
    heartbeatSeconds: positiveInteger(env, 'OPENASSIST_HEARTBEAT_S', 20),
    dailyInvocationQuota: positiveInteger(env, 'OPENASSIST_DAILY_INVOCATION_QUOTA', 100_000),
    resultRetentionDays:
      env.OPENASSIST_RESULT_RETENTION_DAYS === '0'
        ? 0
        : positiveNumber(env, 'OPENASSIST_RESULT_RETENTION_DAYS', 30, true),
    outputCapBytes: positiveInteger(env, 'OPENASSIST_OUTPUT_CAP_BYTES', defaultOutputCapBytes),
    secretKey: env.OPENASSIST_SECRET_KEY || undefined,
    logLevel: flags.logLevel ?? env.OPENASSIST_LOG_LEVEL ?? 'info',
    authFailuresPerMinute: positiveInteger(env, 'OPENASSIST_AUTH_FAILURES_PER_MINUTE', 30),
    tls: tlsFiles(flags, env),
    agentDir: env.OPENASSIST_AGENT_DIR ? resolve(env.OPENASSIST_AGENT_DIR) : undefined,
  });
}

/** Flags of `openassist agent`. */
export interface AgentFlags {
  server?: string | undefined;
  stateDir?: string | undefined;
  activationId?: string | undefined;
  /** Deprecated: any local user sees it in `ps` until the agent has started (OPENASSIST_ACTIVATION_CODE instead). */
  activationCode?: string | undefined;
  activationCodeFile?: string | undefined;
  ca?: string | undefined;
  resetJournal?: boolean | undefined;
}

export interface AgentSettings {
  /** The server nodes to try, in order (`--server URL1,URL2`); the agent fails over between them. */
  readonly serverUrls: readonly string[];
  readonly stateDir: string;
  readonly activationId: string | undefined;
  readonly activationCode: string | undefined;
  /** An owner-only file holding the activation code (read only when registering). */
  readonly activationCodeFile: string | undefined;
  /** A damaged journal is kept aside and an empty one started (never a sound one). */
  readonly resetJournal: boolean;
  /** A PEM file of the CA(s) that sign the server's certificate, trusted instead of the system's. */
  readonly caFile: string | undefined;
  readonly bootIdFile: string | undefined;
  /**
   * A file that exists while the operating system is going down (shutdown writes /run/nologin);
   * an agent stopped while it exists reports the instance Stopped.
   */
  readonly shutdownMarkerFile: string;
  /** The agent's PATH: where it looks for shells such as pwsh. */
  readonly searchPath: string;
  /**
   * Test only (`OPENASSIST_TEST_AGENT_VERSION`): the version the agent reports instead of its own,
   * so tests can play an agent too old for a feature.
   */
  readonly reportedVersion: string | undefined;
  /**
   * Test only (`OPENASSIST_TEST_PROTOCOL_VERSION`): the protocol version the agent's hello claims,
   * so tests can play an agent older or newer than the server.
   */
  readonly reportedProtocolVersion: number | undefined;
  /** The container runtimes' API sockets, from `DOCKER_HOST` and `CONTAINER_RUNTIME_ENDPOINT` (unix:// only). */
  readonly containerSockets: ContainerSockets;
  /** The longest random delay before a server-offered upgrade starts, so a fleet does not download at once. */
  readonly upgradeJitterSeconds: number;
  /**
   * Output the journal keeps for the server while it does not acknowledge it (an offline agent's
   * schedules keep firing), per run and in all; past either the oldest chunks are dropped.
   */
  readonly journalRunOutputMaxBytes: number;
  readonly journalOutputMaxBytes: number;
  /** One run's output the agent sends; past it the bytes are only counted as dropped. */
  readonly outputCapBytes: number;
}

/** Where the agent finds the container runtimes' APIs (`DOCKER_HOST`, `CONTAINER_RUNTIME_ENDPOINT`). */
export interface ContainerSockets {
  /** The Docker Engine API (Docker, or podman's compatible service). */
  readonly docker: string;
  /** CRI endpoints by runtime. */
  readonly containerd: string;
  readonly crio: string;
}

export const defaultContainerSockets: ContainerSockets = {
  docker: '/var/run/docker.sock',
  containerd: '/run/containerd/containerd.sock',
  crio: '/var/run/crio/crio.sock',
};

function unixSocket(variable: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const path = /^unix:\/\/(\/.+)$/.exec(value)?.[1];
  if (!path) throw new ConfigError(`${variable} must be unix:///PATH/TO/SOCKET, got "${value}"`);
  return path;
}

function containerSockets(env: Env): ContainerSockets {
  const cri = unixSocket('CONTAINER_RUNTIME_ENDPOINT', env.CONTAINER_RUNTIME_ENDPOINT);
  return {
    docker: unixSocket('DOCKER_HOST', env.DOCKER_HOST) ?? defaultContainerSockets.docker,
    containerd: cri ?? defaultContainerSockets.containerd,
    crio: cri ?? defaultContainerSockets.crio,
  };
}

// Below one output chunk a cap could not hold the chunk being written.
const minJournalOutputBytes = maxOutputChunkBytes;

/** A byte count of at least one output chunk. */
function journalBytes(env: Env, name: string, fallback: number): number {
  const value = positiveInteger(env, name, fallback);
  if (value < minJournalOutputBytes)
    throw new ConfigError(
      `${name} must be at least ${minJournalOutputBytes} (one output chunk), got "${env[name]}"`,
    );
  return value;
}

/** A yes/no setting from the environment: 1/true/yes or 0/false/no (empty: `fallback`). */
function flagFromEnv(env: Env, name: string, fallback: boolean): boolean {
  const text = (env[name] ?? '').trim().toLowerCase();
  if (text === '') return fallback;
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['0', 'false', 'no'].includes(text)) return false;
  throw new ConfigError(`${name} must be 1 or 0, got "${env[name]}"`);
}

/** Resolves the agent's options once; flags win over OPENASSIST_AGENT_* variables. */
export function loadAgentConfig(flags: AgentFlags, env: Env): AgentSettings {
  const servers = flags.server ?? env.OPENASSIST_AGENT_SERVER ?? '';
  const serverUrls = servers.split(',').map((url) => url.trim());
  const bad = serverUrls.find((url) => !/^https?:\/\/[^/\s]+\/?$/.test(url));
  if (bad !== undefined) {
    throw new ConfigError(
      `--server must be the server's http(s)://HOST:PORT, or several separated by commas; got "${bad}"`,
    );
  }
  const caFile = flags.ca ?? (env.OPENASSIST_AGENT_CA || undefined);
  const stateDir = flags.stateDir ?? env.OPENASSIST_AGENT_STATE_DIR;
  const activationCode = flags.activationCode ?? (env.OPENASSIST_ACTIVATION_CODE || undefined);
  const activationCodeFile = flags.activationCodeFile ?? (env.OPENASSIST_ACTIVATION_CODE_FILE || undefined);
  if (activationCode && activationCodeFile) {
    throw new ConfigError(
      'pass the activation code once: in OPENASSIST_ACTIVATION_CODE or in --activation-code-file, not both',
    );
  }
  if (!stateDir)
    throw new ConfigError('--state-dir is required: the agent keeps its identity and journal there');
  return Object.freeze({
    serverUrls,
    stateDir: resolve(stateDir),
    activationId: flags.activationId ?? env.OPENASSIST_ACTIVATION_ID,
    activationCode,
    activationCodeFile: activationCodeFile === undefined ? undefined : resolve(activationCodeFile),
    resetJournal: flags.resetJournal ?? flagFromEnv(env, 'OPENASSIST_AGENT_RESET_JOURNAL', false),
    caFile: caFile === undefined ? undefined : resolve(caFile),
    bootIdFile: env.OPENASSIST_AGENT_BOOT_ID_FILE || undefined,
    shutdownMarkerFile: env.OPENASSIST_AGENT_SHUTDOWN_MARKER || '/run/nologin',
    searchPath: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    reportedVersion: env.OPENASSIST_TEST_AGENT_VERSION || undefined,
    reportedProtocolVersion: env.OPENASSIST_TEST_PROTOCOL_VERSION
      ? Number(env.OPENASSIST_TEST_PROTOCOL_VERSION)
      : undefined,
    containerSockets: containerSockets(env),
    upgradeJitterSeconds: wholeSeconds(env, 'OPENASSIST_AGENT_UPGRADE_JITTER_S', 600),
    journalRunOutputMaxBytes: journalBytes(
      env,
      'OPENASSIST_AGENT_JOURNAL_RUN_OUTPUT_MAX',
      defaultJournalRunOutputMaxBytes,
    ),
    journalOutputMaxBytes: journalBytes(
      env,
      'OPENASSIST_AGENT_JOURNAL_OUTPUT_MAX',
      defaultJournalOutputMaxBytes,
    ),
    outputCapBytes: positiveInteger(env, 'OPENASSIST_AGENT_OUTPUT_CAP_BYTES', defaultOutputCapBytes),
  });
}

/** A whole number of seconds, 0 included, from the environment. */
function wholeSeconds(env: Env, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0)
    throw new ConfigError(`${name} must be a whole number of seconds, 0 or more, got "${text}"`);
  return value;
}
