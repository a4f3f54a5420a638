// Configuration is resolved once, here: readEnvironment() reads every variable the programs know into
// one frozen, checked object at start, and the loaders below lay the command-line flags over it.
// Nothing else in src/ reads process.env (a child process may still be handed an environment).
import { join, resolve } from 'node:path';
import { maxOutputChunkBytes } from './protocol/messages.js';

/** How much of one run's output is kept, on the server and sent by the agent (DESIGN §4: 16 MiB). */
export const defaultOutputCapBytes = 16 * 1024 * 1024;
/** How much unacknowledged output the agent's journal keeps for one run, and in all. */
export const defaultJournalRunOutputMaxBytes = 4 * 1024 * 1024;
export const defaultJournalOutputMaxBytes = 64 * 1024 * 1024;
/** The largest file SendFile's upload extension takes (docs/file-transfer.md). */
export const defaultFileMaxBytes = 1024 * 1024 * 1024;

/** A configuration mistake the user must fix; the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof logLevels)[number];

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
  /** OPENASSIST_SQLITE_READERS: reader threads answering read-only calls on SQLite (0: none; docs/reader-threads.md). */
  readonly sqliteReaders: number;
  /** Webhook deliveries: one POST's timeout, the first retry's wait (doubling), when to give up. */
  readonly webhooks: { readonly timeoutMs: number; readonly firstRetryMs: number; readonly giveUpMs: number };
  readonly heartbeatSeconds: number;
  readonly dailyInvocationQuota: number;
  /** Ended invocations older than this many days are deleted with their results (0: kept forever). */
  readonly resultRetentionDays: number;
  /** How much of one run's output the server keeps (DESIGN §4: default 16 MiB). */
  readonly outputCapBytes: number;
  /** The largest file an upload for SendFile may hold. */
  readonly fileMaxBytes: number;
  /** Terminal sessions' limits (docs/terminal-sessions.md, "Limits"). */
  readonly sessions: SessionSettings;
  /** This node's URL for agents dialing back a session; undefined: its listen address. */
  readonly publicUrl: string | undefined;
  /** Base64 of the 32-byte key for secret parameters; undefined: DATA_DIR/secret.key. */
  readonly secretKey: string | undefined;
  readonly logLevel: LogLevel;
  /** Failed registrations (and, apart, failed channel authentications) allowed per source address per minute. */
  readonly authFailuresPerMinute: number;
  /** PEM files of the certificate (chain) and key to serve HTTPS with; undefined: plain HTTP. */
  readonly tls: { readonly certFile: string; readonly keyFile: string } | undefined;
  /**
   * Where the agent executables this server hands out are (`GET /agent/download/<file>`);
   * undefined: `dist/agent` of this package, where `npm run build` puts them.
   */
  readonly agentDir: string | undefined;
  /** The S3-compatible storage runs' output is delivered to (docs/output-delivery.md); undefined: none configured. */
  readonly objectStorage: ObjectStorageSettings | undefined;
  /** The first wait before a failed upload is tried again (doubling after each failure). */
  readonly outputDeliveryRetryBaseMs: number;
  /** Where traces are exported (docs/tracing.md); undefined: tracing is off. */
  readonly tracing: TracingSettings | undefined;
  /** The audit trail (docs/audit.md). */
  readonly audit: AuditSettings;
  /** `GET /metrics` and the counters behind it (OPENASSIST_METRICS=0 turns both off; docs/metrics.md). */
  readonly metrics: boolean;
  /** OPENASSIST_METRICS_TOKEN: the bearer `/metrics` asks for; undefined: loopback clients only. A secret: never logged. */
  readonly metricsToken: string | undefined;
}

/** OpenTelemetry traces over OTLP/HTTP (JSON), on when an endpoint is configured. */
export interface TracingSettings {
  /** The full URL spans are POSTed to, such as `http://collector:4318/v1/traces`. */
  readonly tracesUrl: string;
  /** The `service.name` of the server's spans (OTEL_SERVICE_NAME). */
  readonly serviceName: string;
  /** How long ended spans wait to be sent in one batch (OTEL_BSP_SCHEDULE_DELAY). */
  readonly exportDelayMs: number;
  /**
   * Which new traces are recorded (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG): this share of
   * them by trace id, and with `parentBased` a request that carries a `traceparent` follows its
   * sampled flag instead.
   */
  readonly sampler: { readonly ratio: number; readonly parentBased: boolean };
}

/** OPENASSIST_AUDIT*: whether calls are recorded, how long records stay, where they are copied. */
export interface AuditSettings {
  /** Off only to measure what recording costs (the bench); on by default. */
  readonly enabled: boolean;
  /** Records older than this many days are deleted (0: kept forever). */
  readonly retentionDays: number;
  /** JSON lines of every stored record: appended to a file, or written to stdout (`-`). */
  readonly export: { readonly kind: 'file'; readonly path: string } | { readonly kind: 'stdout' } | undefined;
}

function auditSettings(env: Env): AuditSettings {
  const log = text(env, 'OPENASSIST_AUDIT_LOG');
  return Object.freeze({
    enabled: flag(env, 'OPENASSIST_AUDIT') ?? true,
    retentionDays:
      env.OPENASSIST_AUDIT_RETENTION_DAYS === '0'
        ? 0
        : positiveNumber(env, 'OPENASSIST_AUDIT_RETENTION_DAYS', 90, true),
    export:
      log === undefined
        ? undefined
        : log === '-'
          ? ({ kind: 'stdout' } as const)
          : ({ kind: 'file', path: resolve(log) } as const),
  });
}

/** OPENASSIST_OSS_*: where and as whom the server uploads runs' output. The secret is never logged. */
export interface ObjectStorageSettings {
  /** `http(s)://host[:port]` of the S3 API (OSS, MinIO, Ceph, AWS S3). */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** Buckets as a path (`endpoint/bucket/key`) rather than a host name (`bucket.endpoint/key`). */
  readonly forcePathStyle: boolean;
}

export interface SessionSettings {
  readonly idleTimeoutSeconds: number;
  readonly maxDurationSeconds: number;
  readonly perInstance: number;
  readonly total: number;
  readonly recordingMaxBytes: number;
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

/** The server's variables: the flags' twins as given (undefined: unset, so a flag or the default decides), the rest resolved. */
export interface ServerEnvironment
  extends Omit<ServerConfig, 'listen' | 'dataDir' | 'databaseUrl' | 'logLevel' | 'tls'> {
  readonly listen: ListenAddress | undefined;
  readonly dataDir: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly logLevel: LogLevel | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
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

/**
 * Test-only settings, read from OPENASSIST_TEST_* variables. They stay in the environment because
 * the process-spawning e2e suites reach an agent process only through it; production never sets
 * them and README does not list them.
 */
export interface TestingEnvironment {
  /** OPENASSIST_TEST_AGENT_VERSION: the version the agent reports instead of its own (an agent too old for a feature). */
  readonly agentVersion: string | undefined;
  /** OPENASSIST_TEST_PROTOCOL_VERSION: the protocol version the agent's hello claims (older or newer than the server). */
  readonly protocolVersion: number | undefined;
  /** OPENASSIST_TEST_SHUTDOWN_MARKER: the file that says the machine is going down, instead of /run/nologin. */
  readonly shutdownMarkerFile: string | undefined;
  /**
   * OPENASSIST_TEST_FILE_WRITE_PAUSE: the agent writes half of a sent file, creates this file and
   * waits (until the run times out or the agent is killed): a write caught in the middle.
   */
  readonly fileWritePauseMarker: string | undefined;
  /**
   * OPENASSIST_TEST_RUN_GO_PAUSE: once a run is on the journal's disk, the agent creates this file
   * and holds the script's go for good: a test can kill the agent between the two.
   */
  readonly runGoPauseMarker: string | undefined;
  /** OPENASSIST_TEST_OSS_RETRY_BASE_MS: the server's first wait before retrying a failed output upload (default 5000). */
  readonly ossRetryBaseMs: number | undefined;
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
  /** OPENASSIST_AGENT_BOOT_ID_FILE (DESIGN §2.3): where the boot id is read; tests simulate reboots with it. */
  readonly bootIdFile: string | undefined;
  /**
   * A file that exists while the operating system is going down (shutdown writes /run/nologin);
   * an agent stopped while it exists reports the instance Stopped.
   */
  readonly shutdownMarkerFile: string;
  /** The agent's PATH: where it looks for shells such as pwsh. */
  readonly searchPath: string;
  /** TZ, as the C library reads it (a zone name, or `:` and a file); undefined: /etc/localtime. */
  readonly timeZoneVariable: string | undefined;
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
  /** Test-only: what the agent claims to be (see TestingEnvironment). */
  readonly testing: Pick<
    TestingEnvironment,
    'agentVersion' | 'protocolVersion' | 'fileWritePauseMarker' | 'runGoPauseMarker'
  >;
  /**
   * The agent runs inside the server's process (`openassist up`): it applies no resource caps,
   * which would cap the server too, and reports why.
   */
  readonly inServerProcess: boolean;
}

/** Who the agent is and where it connects: the settings `--server`, `--state-dir` and the activation flags give. */
type AgentIdentityKeys =
  | 'inServerProcess'
  | 'serverUrls'
  | 'stateDir'
  | 'activationId'
  | 'activationCode'
  | 'activationCodeFile'
  | 'caFile'
  | 'resetJournal';

/**
 * The agent's variables: the flags' twins as given (undefined: unset), the rest resolved, except
 * the container runtimes' variables, which are Docker's and the CRI tools' and may hold what only
 * they understand (`tcp://…`): only an agent, which needs a unix socket, refuses those.
 */
export interface AgentEnvironment extends Omit<AgentSettings, AgentIdentityKeys | 'containerSockets'> {
  readonly containerRuntimes: ContainerRuntimeVariables;
  readonly serverUrls: readonly string[] | undefined;
  readonly stateDir: string | undefined;
  readonly activationId: string | undefined;
  readonly activationCode: string | undefined;
  readonly activationCodeFile: string | undefined;
  readonly caFile: string | undefined;
  readonly resetJournal: boolean | undefined;
}

/** `DOCKER_HOST` and `CONTAINER_RUNTIME_ENDPOINT` as set. */
export interface ContainerRuntimeVariables {
  readonly dockerHost: string | undefined;
  readonly criEndpoint: string | undefined;
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

/** The client verbs' variables; the flags, a profile and the local `up` data dir come after them (cli/client-config.ts). */
export interface ClientEnvironment {
  readonly profile: string | undefined;
  readonly endpoint: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly accessKeySecret: string | undefined;
  readonly region: string | undefined;
  /** OPENASSIST_DATA_DIR, shared with the server: a local `up` data dir to take the endpoint and key from. */
  readonly dataDir: string | undefined;
}

/** How the CLI may draw: NO_COLOR set to anything (no-color.org) or TERM=dumb turn colour and redrawing off. */
export interface TerminalEnvironment {
  readonly noColor: boolean;
  readonly dumb: boolean;
}

/** The development tools' variables: the bench's load generator and the agent build. */
export interface ToolsEnvironment {
  /** OPENASSIST_LOAD_ACTIVATIONS: `ID:CODE` pairs the load generator registers through (codes stay out of `ps`). */
  readonly loadActivations: readonly { readonly id: string; readonly code: string }[];
  /** OPENASSIST_AGENT_BUILD_VERSION: the version built into the agent executable; undefined: package.json's. */
  readonly agentBuildVersion: string | undefined;
}

/** Every variable the programs read, checked; flags are laid over it by the loaders below. */
export interface Environment {
  readonly server: ServerEnvironment;
  readonly agent: AgentEnvironment;
  readonly client: ClientEnvironment;
  readonly terminal: TerminalEnvironment;
  readonly tools: ToolsEnvironment;
  readonly testing: TestingEnvironment;
}

type Env = Readonly<Record<string, string | undefined>>;

/** A variable's text; unset and empty are the same (`VAR= openassist …` clears a setting). */
const text = (env: Env, name: string): string | undefined => env[name] || undefined;

/** `HOST:PORT`; `source` names the flag or variable in the error. */
export function parseListen(value: string, source = 'listen address'): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65_535) throw new ConfigError(`${source} must be HOST:PORT, got "${value}"`);
  return { host: match[1] ?? match[2] ?? '', port };
}

function parseLogLevel(value: string, source: string): LogLevel {
  const level = logLevels.find((known) => known === value);
  if (!level) throw new ConfigError(`${source} must be one of ${logLevels.join(', ')}, got "${value}"`);
  return level;
}

/** The shape of an API endpoint, and that it parses at all (`http://[::1` has the shape but no closing bracket). */
export function checkEndpoint(endpoint: string, source = 'endpoint'): void {
  if (!/^https?:\/\/[^/\s]+\/?$/.test(endpoint) || !URL.canParse(endpoint)) {
    throw new ConfigError(`${source} must be http://HOST:PORT, got "${endpoint}"`);
  }
}

/** `--server URL1,URL2` or OPENASSIST_AGENT_SERVER: the server nodes, in order. */
function parseServerUrls(value: string, source: string): string[] {
  const urls = value.split(',').map((url) => url.trim());
  const bad = urls.find((url) => !/^https?:\/\/[^/\s]+\/?$/.test(url));
  if (bad !== undefined) {
    throw new ConfigError(
      `${source} must be the server's http(s)://HOST:PORT, or several separated by commas; got "${bad}"`,
    );
  }
  return urls;
}

/** A positive number from the environment; `fractions` for settings such as retention in days (0.5: 12 h). */
function positiveNumber(env: Env, name: string, fallback: number, fractions = false): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!(fractions ? Number.isFinite(number) : Number.isSafeInteger(number)) || number <= 0)
    throw new ConfigError(`${name} must be a positive ${fractions ? 'number' : 'integer'}, got "${value}"`);
  return number;
}

const positiveInteger = (env: Env, name: string, fallback: number): number =>
  positiveNumber(env, name, fallback);

/** A whole number of seconds, 0 included, from the environment. */
function wholeSeconds(env: Env, name: string, fallback: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0)
    throw new ConfigError(`${name} must be a whole number of seconds, 0 or more, got "${value}"`);
  return number;
}

/**
 * OPENASSIST_SQLITE_READERS, 0 to 8; 0 (off) by default: on the 2-core bench machine, one reader
 * cost more server CPU per call than it freed (docs/reader-threads.md, "Measured").
 */
function readerThreads(env: Env): number {
  const value = text(env, 'OPENASSIST_SQLITE_READERS');
  if (value === undefined) return 0;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0 || number > 8)
    throw new ConfigError(`OPENASSIST_SQLITE_READERS must be a whole number from 0 to 8, got "${value}"`);
  return number;
}

/** A yes/no setting from the environment: 1/true/yes/on or 0/false/no/off; undefined when unset. */
function flag(env: Env, name: string): boolean | undefined {
  const value = (env[name] ?? '').trim().toLowerCase();
  if (value === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new ConfigError(`${name} must be 1 or 0 (on or off), got "${env[name]}"`);
}

const regionPattern = /^[a-z0-9-]{2,64}$/;

function regions(env: Env): string[] {
  const list = (text(env, 'OPENASSIST_REGIONS') ?? 'cn-hangzhou')
    .split(',')
    .map((region) => region.trim())
    .filter(Boolean);
  if (list.length === 0 || list.some((region) => !regionPattern.test(region))) {
    throw new ConfigError(
      `OPENASSIST_REGIONS must be a comma list of region ids, got "${env.OPENASSIST_REGIONS}"`,
    );
  }
  return list;
}

function rootAccessKey(env: Env): ServerConfig['rootAccessKey'] {
  const id = text(env, 'OPENASSIST_ROOT_ACCESS_KEY_ID');
  const secret = text(env, 'OPENASSIST_ROOT_ACCESS_KEY_SECRET');
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

/** Base64 of 32 bytes (AES-256), checked here so a wrong one stops the start with the variable's name. */
function secretKey(env: Env): string | undefined {
  const value = text(env, 'OPENASSIST_SECRET_KEY');
  if (value !== undefined && Buffer.from(value, 'base64').length !== 32)
    throw new ConfigError(
      'OPENASSIST_SECRET_KEY must be the Base64 of 32 bytes (head -c 32 /dev/urandom | base64)',
    );
  return value;
}

// A bearer token travels in a header: printable ASCII without spaces, long enough not to be guessed.
const metricsTokenPattern = /^[\x21-\x7e]{16,256}$/;

/** OPENASSIST_METRICS_TOKEN; its value is never shown, not even in the error. */
function metricsToken(env: Env): string | undefined {
  const value = text(env, 'OPENASSIST_METRICS_TOKEN');
  if (value !== undefined && !metricsTokenPattern.test(value))
    throw new ConfigError('OPENASSIST_METRICS_TOKEN must be 16-256 printable characters without spaces');
  return value;
}

/** `OPENASSIST_PUBLIC_URL`: where agents reach this node (http or https, no path). */
function publicUrl(env: Env): string | undefined {
  const value = text(env, 'OPENASSIST_PUBLIC_URL');
  if (value !== undefined && !/^https?:\/\/[^/?#\s]+\/?$/.test(value)) {
    throw new ConfigError(`OPENASSIST_PUBLIC_URL must be http(s)://HOST[:PORT], got "${value.slice(0, 80)}"`);
  }
  return value?.replace(/\/$/, '');
}

/** OPENASSIST_OSS_*: all of endpoint and key, or none (no delivery configured). */
function objectStorage(env: Env): ObjectStorageSettings | undefined {
  const endpoint = text(env, 'OPENASSIST_OSS_ENDPOINT');
  const accessKeyId = text(env, 'OPENASSIST_OSS_ACCESS_KEY_ID');
  const accessKeySecret = text(env, 'OPENASSIST_OSS_ACCESS_KEY_SECRET');
  const region = text(env, 'OPENASSIST_OSS_REGION') ?? 'us-east-1';
  const forcePathStyle = flag(env, 'OPENASSIST_OSS_FORCE_PATH_STYLE') ?? false;
  if (endpoint === undefined && accessKeyId === undefined && accessKeySecret === undefined) return undefined;
  if (endpoint === undefined || accessKeyId === undefined || accessKeySecret === undefined) {
    throw new ConfigError(
      'set OPENASSIST_OSS_ENDPOINT, OPENASSIST_OSS_ACCESS_KEY_ID and OPENASSIST_OSS_ACCESS_KEY_SECRET together, or none',
    );
  }
  if (!/^https?:\/\/[^/?#\s]+\/?$/.test(endpoint))
    throw new ConfigError(
      `OPENASSIST_OSS_ENDPOINT must be http(s)://HOST[:PORT], got "${endpoint.slice(0, 80)}"`,
    );
  return {
    endpoint: endpoint.replace(/\/$/, ''),
    region,
    accessKeyId,
    accessKeySecret,
    forcePathStyle,
  };
}

/** An OTLP endpoint URL: http(s), no query or fragment. */
function otlpUrl(env: Env, name: string): string | undefined {
  const value = text(env, name);
  if (value !== undefined && !/^https?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/.test(value)) {
    throw new ConfigError(`${name} must be an http(s):// URL, got "${value.slice(0, 80)}"`);
  }
  return value;
}

/**
 * OPENASSIST_OTLP_ENDPOINT (a base URL: traces go to `<base>/v1/traces`), else OpenTelemetry's own
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as it is) and OTEL_EXPORTER_OTLP_ENDPOINT (a base).
 * None set, or OTEL_SDK_DISABLED=true: tracing is off.
 */
/** OpenTelemetry's sampler names this server takes; the default is `parentbased_always_on`. */
const samplers = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;

function sampler(env: Env): TracingSettings['sampler'] {
  const name = (text(env, 'OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').trim().toLowerCase();
  if (!(samplers as readonly string[]).includes(name))
    throw new ConfigError(
      `OTEL_TRACES_SAMPLER must be one of ${samplers.join(', ')}; got "${name.slice(0, 40)}"`,
    );
  const parentBased = name.startsWith('parentbased_');
  const kind = name.replace('parentbased_', '');
  if (kind !== 'traceidratio') return { ratio: kind === 'always_on' ? 1 : 0, parentBased };
  const arg = text(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = arg === undefined ? 1 : Number(arg);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
    throw new ConfigError(`OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1, got "${arg}"`);
  return { ratio, parentBased };
}

function tracing(env: Env): TracingSettings | undefined {
  if (text(env, 'OTEL_SDK_DISABLED')?.trim().toLowerCase() === 'true') return undefined;
  // Only the variable that decides is checked: one meant for another program stays its business.
  const base = (name: string) => `${otlpUrl(env, name)?.replace(/\/+$/, '')}/v1/traces`;
  const tracesUrl = text(env, 'OPENASSIST_OTLP_ENDPOINT')
    ? base('OPENASSIST_OTLP_ENDPOINT')
    : text(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
      ? otlpUrl(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
      : text(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')
        ? base('OTEL_EXPORTER_OTLP_ENDPOINT')
        : undefined;
  if (tracesUrl === undefined) return undefined;
  return {
    tracesUrl,
    serviceName: text(env, 'OTEL_SERVICE_NAME') ?? 'openassist-server',
    exportDelayMs: positiveInteger(env, 'OTEL_BSP_SCHEDULE_DELAY', 5_000),
    sampler: sampler(env),
  };
}

function readServerEnvironment(env: Env, testing: TestingEnvironment): ServerEnvironment {
  const listen = text(env, 'OPENASSIST_LISTEN');
  const logLevel = text(env, 'OPENASSIST_LOG_LEVEL');
  const agentDir = text(env, 'OPENASSIST_AGENT_DIR');
  return {
    listen: listen === undefined ? undefined : parseListen(listen, 'OPENASSIST_LISTEN'),
    dataDir: text(env, 'OPENASSIST_DATA_DIR'),
    databaseUrl: text(env, 'OPENASSIST_DATABASE_URL'),
    logLevel: logLevel === undefined ? undefined : parseLogLevel(logLevel, 'OPENASSIST_LOG_LEVEL'),
    tlsCert: text(env, 'OPENASSIST_TLS_CERT'),
    tlsKey: text(env, 'OPENASSIST_TLS_KEY'),
    regions: Object.freeze(regions(env)),
    rootAccessKey: rootAccessKey(env),
    deliveryTimeoutSeconds: positiveInteger(env, 'OPENASSIST_DELIVERY_TIMEOUT_S', 60),
    runGraceSeconds: positiveInteger(env, 'OPENASSIST_RUN_GRACE_S', 60),
    streamStallSeconds: positiveInteger(env, 'OPENASSIST_STREAM_STALL_S', 60),
    sqliteReaders: readerThreads(env),
    webhooks: {
      timeoutMs: positiveInteger(env, 'OPENASSIST_WEBHOOK_TIMEOUT_S', 10) * 1000,
      firstRetryMs: positiveInteger(env, 'OPENASSIST_WEBHOOK_FIRST_RETRY_MS', 10_000),
      giveUpMs: positiveInteger(env, 'OPENASSIST_WEBHOOK_GIVE_UP_H', 24) * 3_600_000,
    },
    heartbeatSeconds: positiveInteger(env, 'OPENASSIST_HEARTBEAT_S', 20),
    dailyInvocationQuota: positiveInteger(env, 'OPENASSIST_DAILY_INVOCATION_QUOTA', 100_000),
    resultRetentionDays:
      env.OPENASSIST_RESULT_RETENTION_DAYS === '0'
        ? 0
        : positiveNumber(env, 'OPENASSIST_RESULT_RETENTION_DAYS', 30, true),
    outputCapBytes: positiveInteger(env, 'OPENASSIST_OUTPUT_CAP_BYTES', defaultOutputCapBytes),
    fileMaxBytes: positiveInteger(env, 'OPENASSIST_FILE_MAX_BYTES', defaultFileMaxBytes),
    sessions: Object.freeze({
      idleTimeoutSeconds: positiveInteger(env, 'OPENASSIST_SESSION_IDLE_TIMEOUT_S', 1800),
      maxDurationSeconds: positiveInteger(env, 'OPENASSIST_SESSION_MAX_DURATION_S', 86_400),
      perInstance: positiveInteger(env, 'OPENASSIST_SESSIONS_PER_INSTANCE', 10),
      total: positiveInteger(env, 'OPENASSIST_SESSIONS_MAX', 1000),
      recordingMaxBytes: positiveInteger(env, 'OPENASSIST_SESSION_RECORDING_MAX_BYTES', 16 * 1024 * 1024),
    }),
    publicUrl: publicUrl(env),
    secretKey: secretKey(env),
    authFailuresPerMinute: positiveInteger(env, 'OPENASSIST_AUTH_FAILURES_PER_MINUTE', 30),
    agentDir: agentDir === undefined ? undefined : resolve(agentDir),
    objectStorage: objectStorage(env),
    outputDeliveryRetryBaseMs: testing.ossRetryBaseMs ?? 5_000,
    tracing: tracing(env),
    audit: auditSettings(env),
    metrics: flag(env, 'OPENASSIST_METRICS') ?? true,
    metricsToken: metricsToken(env),
  };
}

function unixSocket(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const path = /^unix:\/\/(\/.+)$/.exec(value)?.[1];
  if (!path) throw new ConfigError(`${name} must be unix:///PATH/TO/SOCKET, got "${value}"`);
  return path;
}

function containerSockets(variables: ContainerRuntimeVariables): ContainerSockets {
  const cri = unixSocket('CONTAINER_RUNTIME_ENDPOINT', variables.criEndpoint);
  return {
    docker: unixSocket('DOCKER_HOST', variables.dockerHost) ?? defaultContainerSockets.docker,
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

function readAgentEnvironment(env: Env, testing: TestingEnvironment): AgentEnvironment {
  const servers = text(env, 'OPENASSIST_AGENT_SERVER');
  const stateDir = text(env, 'OPENASSIST_AGENT_STATE_DIR');
  const activationCodeFile = text(env, 'OPENASSIST_ACTIVATION_CODE_FILE');
  const caFile = text(env, 'OPENASSIST_AGENT_CA');
  return {
    serverUrls: servers === undefined ? undefined : parseServerUrls(servers, 'OPENASSIST_AGENT_SERVER'),
    stateDir: stateDir === undefined ? undefined : resolve(stateDir),
    activationId: text(env, 'OPENASSIST_ACTIVATION_ID'),
    activationCode: text(env, 'OPENASSIST_ACTIVATION_CODE'),
    activationCodeFile: activationCodeFile === undefined ? undefined : resolve(activationCodeFile),
    caFile: caFile === undefined ? undefined : resolve(caFile),
    resetJournal: flag(env, 'OPENASSIST_AGENT_RESET_JOURNAL'),
    bootIdFile: text(env, 'OPENASSIST_AGENT_BOOT_ID_FILE'),
    shutdownMarkerFile: testing.shutdownMarkerFile ?? '/run/nologin',
    searchPath: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    timeZoneVariable: env.TZ,
    containerRuntimes: {
      dockerHost: text(env, 'DOCKER_HOST'),
      criEndpoint: text(env, 'CONTAINER_RUNTIME_ENDPOINT'),
    },
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
    testing: {
      agentVersion: testing.agentVersion,
      protocolVersion: testing.protocolVersion,
      fileWritePauseMarker: testing.fileWritePauseMarker,
      runGoPauseMarker: testing.runGoPauseMarker,
    },
  };
}

function readClientEnvironment(env: Env): ClientEnvironment {
  const endpoint = text(env, 'OPENASSIST_ENDPOINT');
  if (endpoint !== undefined) checkEndpoint(endpoint, 'OPENASSIST_ENDPOINT');
  return {
    profile: text(env, 'OPENASSIST_PROFILE'),
    endpoint,
    accessKeyId: text(env, 'OPENASSIST_ACCESS_KEY_ID'),
    accessKeySecret: text(env, 'OPENASSIST_ACCESS_KEY_SECRET'),
    // Any text: the server answers a region it does not serve.
    region: text(env, 'OPENASSIST_REGION'),
    dataDir: text(env, 'OPENASSIST_DATA_DIR'),
  };
}

/** `ID:CODE` pairs separated by commas or white space. */
function loadActivations(env: Env): ToolsEnvironment['loadActivations'] {
  return (env.OPENASSIST_LOAD_ACTIVATIONS ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      // The pair itself is not shown: it holds the code.
      if (at < 1 || at === pair.length - 1)
        throw new ConfigError('OPENASSIST_LOAD_ACTIVATIONS takes ID:CODE pairs');
      return { id: pair.slice(0, at), code: pair.slice(at + 1) };
    });
}

function readTestingEnvironment(env: Env): TestingEnvironment {
  const protocol = text(env, 'OPENASSIST_TEST_PROTOCOL_VERSION');
  const protocolVersion = protocol === undefined ? undefined : Number(protocol);
  if (protocolVersion !== undefined && !Number.isSafeInteger(protocolVersion))
    throw new ConfigError(`OPENASSIST_TEST_PROTOCOL_VERSION must be an integer, got "${protocol}"`);
  return {
    agentVersion: text(env, 'OPENASSIST_TEST_AGENT_VERSION'),
    protocolVersion,
    shutdownMarkerFile: text(env, 'OPENASSIST_TEST_SHUTDOWN_MARKER'),
    fileWritePauseMarker: text(env, 'OPENASSIST_TEST_FILE_WRITE_PAUSE'),
    runGoPauseMarker: text(env, 'OPENASSIST_TEST_RUN_GO_PAUSE'),
    ossRetryBaseMs:
      text(env, 'OPENASSIST_TEST_OSS_RETRY_BASE_MS') === undefined
        ? undefined
        : positiveInteger(env, 'OPENASSIST_TEST_OSS_RETRY_BASE_MS', 5_000),
  };
}

/** Deep-freezes plain configuration data. */
function frozen<T extends object>(value: T): T {
  for (const field of Object.values(value)) if (field && typeof field === 'object') frozen(field);
  return Object.freeze(value);
}

/** Reads and checks every variable at once; a bad one is a ConfigError naming it. */
export function readEnvironment(env: Env): Environment {
  const testing = readTestingEnvironment(env);
  return frozen({
    server: readServerEnvironment(env, testing),
    agent: readAgentEnvironment(env, testing),
    client: readClientEnvironment(env),
    terminal: { noColor: Boolean(env.NO_COLOR), dumb: env.TERM === 'dumb' },
    tools: {
      loadActivations: loadActivations(env),
      agentBuildVersion: text(env, 'OPENASSIST_AGENT_BUILD_VERSION'),
    },
    testing,
  });
}

let processEnvironmentRead: Environment | undefined;

/** This process's environment, read once: the entry points call it first, so a bad value stops the start. */
export function processEnvironment(): Environment {
  processEnvironmentRead ??= readEnvironment(process.env);
  return processEnvironmentRead;
}

function tlsFiles(flags: ServerFlags, environment: ServerEnvironment): ServerConfig['tls'] {
  const certFile = flags.tlsCert ?? environment.tlsCert;
  const keyFile = flags.tlsKey ?? environment.tlsKey;
  if (!certFile && !keyFile) return undefined;
  if (!certFile || !keyFile) {
    throw new ConfigError(
      'HTTPS needs both --tls-cert and --tls-key (OPENASSIST_TLS_CERT, OPENASSIST_TLS_KEY)',
    );
  }
  return { certFile: resolve(certFile), keyFile: resolve(keyFile) };
}

/** The server's configuration: flags over the environment over the documented defaults. */
export function loadServerConfig(flags: ServerFlags, environment: ServerEnvironment): ServerConfig {
  const { tlsCert: _cert, tlsKey: _key, ...settings } = environment;
  const dataDir = resolve(flags.data ?? environment.dataDir ?? './data');
  return frozen({
    ...settings,
    listen:
      flags.listen === undefined
        ? (environment.listen ?? { host: '127.0.0.1', port: 8080 })
        : parseListen(flags.listen, '--listen'),
    dataDir,
    databaseUrl: flags.database ?? environment.databaseUrl ?? embeddedDatabaseUrl(dataDir),
    logLevel:
      flags.logLevel === undefined
        ? (environment.logLevel ?? 'info')
        : parseLogLevel(flags.logLevel, '--log-level'),
    tls: tlsFiles(flags, environment),
  });
}

/** The SQLite database `openassist up` always uses, and `server` without a database URL. */
export const embeddedDatabaseUrl = (dataDir: string): string => `sqlite:${join(dataDir, 'openassist.db')}`;

/** The agent's variables with who it is and where it connects; a container runtime variable it cannot use stops it. */
function agentSettings(
  environment: AgentEnvironment,
  identity: Pick<AgentSettings, AgentIdentityKeys>,
): AgentSettings {
  const { containerRuntimes, ...settings } = environment;
  return frozen({ ...settings, ...identity, containerSockets: containerSockets(containerRuntimes) });
}

/** The agent's configuration: flags over OPENASSIST_AGENT_* (and the activation's) variables. */
export function loadAgentConfig(flags: AgentFlags, environment: AgentEnvironment): AgentSettings {
  const servers =
    flags.server === undefined ? environment.serverUrls : parseServerUrls(flags.server, '--server');
  if (servers === undefined) throw new ConfigError("--server is required: the server's http(s)://HOST:PORT");
  const stateDir = flags.stateDir ?? environment.stateDir;
  if (!stateDir)
    throw new ConfigError('--state-dir is required: the agent keeps its identity and journal there');
  const activationCode = flags.activationCode ?? environment.activationCode;
  const activationCodeFile = flags.activationCodeFile ?? environment.activationCodeFile;
  if (activationCode && activationCodeFile) {
    throw new ConfigError(
      'pass the activation code once: in OPENASSIST_ACTIVATION_CODE or in --activation-code-file, not both',
    );
  }
  const caFile = flags.ca ?? environment.caFile;
  return agentSettings(environment, {
    serverUrls: servers,
    stateDir: resolve(stateDir),
    activationId: flags.activationId ?? environment.activationId,
    activationCode,
    activationCodeFile: activationCodeFile === undefined ? undefined : resolve(activationCodeFile),
    resetJournal: flags.resetJournal ?? environment.resetJournal ?? false,
    inServerProcess: false,
    caFile: caFile === undefined ? undefined : resolve(caFile),
  });
}

/** Where `up`'s local agent connects and who it is: `up` decides, not the environment. */
export interface LocalAgent {
  readonly serverUrl: string;
  readonly stateDir: string;
  /** A new activation for its first start; undefined once it has an identity. */
  readonly activation: { readonly activationId: string; readonly activationCode: string } | undefined;
  /** The server's own certificate over HTTPS, trusted unless OPENASSIST_AGENT_CA names a CA. */
  readonly serverCertFile: string | undefined;
}

/** `up`'s local agent: the agent variables' settings, with its server, state dir and activation from `up`. */
export function localAgentConfig(environment: AgentEnvironment, local: LocalAgent): AgentSettings {
  const caFile = environment.caFile ?? local.serverCertFile;
  return agentSettings(environment, {
    serverUrls: [local.serverUrl],
    stateDir: resolve(local.stateDir),
    activationId: local.activation?.activationId,
    // In-process: the code never reaches any process's arguments; one in the environment is not this agent's.
    activationCode: local.activation?.activationCode,
    activationCodeFile: undefined,
    resetJournal: environment.resetJournal ?? false,
    caFile: caFile === undefined ? undefined : resolve(caFile),
    inServerProcess: true,
  });
}
