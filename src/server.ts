import { createHmac, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import type { Services } from './api/action.js';
import { servedActionNames } from './api/actions/index.js';
import { packageAgentDir } from './api/agent-download-routes.js';
import { buildHttpServer } from './api/http-server.js';
import { startReaders } from './api/readers/start-readers.js';
import { ConfigError, defaultFileMaxBytes, type ServerConfig, type SessionSettings } from './config.js';
import { AgentHub } from './dispatch/agent-hub.js';
import { startClusterJobs } from './dispatch/cluster-jobs.js';
import { NodeBus } from './dispatch/node-bus.js';
import { ResourceCapsSource } from './dispatch/resource-caps.js';
import { SessionRelay } from './dispatch/session-relay.js';
import { UpgradeOffers } from './dispatch/upgrade-offers.js';
import { startWebhookDelivery } from './dispatch/webhook-delivery.js';
import { defaultRetrySchedule } from './domain/output-delivery.js';
import { describeTightened, privateDir, tightenFile } from './private-files.js';
import { AccessKeyService } from './service/access-keys.js';
import { ActivationService } from './service/activations.js';
import { AgentReleases } from './service/agent-releases.js';
import { AgentSessions } from './service/agent-sessions.js';
import { AuditTrail } from './service/audit-trail.js';
import { Authorization } from './service/authorization.js';
import { ClusterService } from './service/cluster.js';
import { CommandService } from './service/commands.js';
import { FailureThrottle } from './service/failure-throttle.js';
import { FileUploadService } from './service/file-uploads.js';
import { Idempotence } from './service/idempotence.js';
import { InstanceService } from './service/instances.js';
import { InvocationService, type TaskDispatcher } from './service/invocations.js';
import { s3ObjectStorage } from './service/object-storage.js';
import { OutputDeliveryService } from './service/output-delivery.js';
import { ParameterService } from './service/parameters.js';
import { ResourceGroupService } from './service/resource-groups.js';
import { ensureRootAccessKey, type RootKeySource } from './service/root-access-key.js';
import type { RunObserver } from './service/run-observer.js';
import { loadSecretKey, SecretBox } from './service/secret-box.js';
import { SendFileService } from './service/send-files.js';
import { SettingService } from './service/settings.js';
import { TagService } from './service/tags.js';
import { TerminalSessionService } from './service/terminal-sessions.js';
import { WebhookService } from './service/webhooks.js';
import { openStore, redactUrl } from './store/open-store.js';
import type { Store } from './store/store.js';
import { type MetricsSources, ServerMetrics } from './telemetry/metrics.js';
import { RunTraces } from './telemetry/run-traces.js';
import { tracedStore } from './telemetry/traced-store.js';
import { Tracing } from './telemetry/tracing.js';
import { version } from './version.js';

export interface RunningServer {
  /** `http://HOST:PORT` with the real port. */
  readonly url: string;
  readonly rootKeySource: RootKeySource;
  readonly services: Services;
  close(): Promise<void>;
}

// Expired nonces and client tokens only need to be purged now and then; lookups are keyed.
const purgeIntervalMs = 60_000;
/** Results are swept every minute, or four times per retention window when that is shorter (a lab's hour). */
const retentionSweepMs = (days: number): number =>
  days > 0 ? Math.max(1_000, Math.min(purgeIntervalMs, (days * 86_400_000) / 4)) : purgeIntervalMs;
// Describe calls show the last 24 KB of output (DESIGN §4).
const outputShownBytes = 24 * 1024;
// How often ended runs are looked for and due uploads of their output tried.
const outputDeliveryIntervalMs = 1_000;
// How often undelivered tasks are checked against the delivery timeout.
const deliverySweepIntervalMs = 1_000;

type WiringConfig = Pick<
  ServerConfig,
  'heartbeatSeconds' | 'outputCapBytes' | 'regions' | 'dailyInvocationQuota'
> & { readonly nodeId: string } & Partial<
    Pick<
      ServerConfig,
      | 'authFailuresPerMinute'
      | 'agentDir'
      | 'fileMaxBytes'
      | 'sessions'
      | 'objectStorage'
      | 'outputDeliveryRetryBaseMs'
    >
  > & {
    readonly tls?: boolean;
    /** This server's traces (docs/tracing.md); undefined: tracing is off. */
    readonly tracer?: Tracing | undefined;
    /** The metrics, when the server keeps them (docs/metrics.md). */
    readonly observer?: RunObserver | undefined;
  };

/** Sessions' limits when the configuration names none (docs/terminal-sessions.md, "Limits"). */
export const defaultSessionSettings: SessionSettings = {
  idleTimeoutSeconds: 1800,
  maxDurationSeconds: 86_400,
  perInstance: 10,
  total: 1000,
  recordingMaxBytes: 16 * 1024 * 1024,
};

/** Builds the services and the agent hub over a store; they refer to each other through small ports. */
export function wireServices(
  store: Store,
  logger: FastifyBaseLogger,
  nowMs: () => number,
  config: WiringConfig,
  secrets: SecretBox,
  // Off unless the caller makes one (startServer does, from OPENASSIST_AUDIT*).
  audit: AuditTrail = new AuditTrail(store.auditEvents, {
    enabled: false,
    digestKey: Buffer.alloc(32),
    logger,
  }),
): { services: Services; hub: AgentHub; relay: SessionRelay } {
  let hub: AgentHub | undefined;
  const observer = config.observer;
  if (observer) store.invocations.onRunEnded((run) => observer.runEnded(run));
  const parameters = new ParameterService(store, secrets, nowMs);
  const instances = new InstanceService(
    store,
    { close: (id) => hub?.close(id) },
    nowMs,
    config.heartbeatSeconds,
    config.authFailuresPerMinute === undefined
      ? undefined
      : new FailureThrottle(config.authFailuresPerMinute, nowMs),
  );
  const dispatcher: TaskDispatcher = {
    wake: (...args) => hub?.wake(...args),
    cancel: (...args) => hub?.cancel(...args),
  };
  const invocations = new InvocationService(
    store,
    dispatcher,
    nowMs,
    { shownBytes: outputShownBytes, keptBytes: config.outputCapBytes },
    config.dailyInvocationQuota,
    parameters,
    (regionId) => settings.ossDeliveryDefault(regionId),
    observer,
  );
  const outputDelivery = new OutputDeliveryService(
    store,
    config.objectStorage && s3ObjectStorage(config.objectStorage),
    nowMs,
    defaultRetrySchedule(config.outputDeliveryRetryBaseMs),
  );
  const settings = new SettingService(
    store,
    {
      upgradeConfigChanged: (id) => hub?.upgradeConfigChanged(id),
      resourceUsageChanged: (id) => hub?.resourceUsageChanged(id),
    },
    nowMs,
  );
  const agentSessions = new AgentSessions(store, instances, invocations, nowMs, config.nodeId);
  const bus = new NodeBus(store.notifications, config.nodeId, logger);
  hub = new AgentHub({
    sessions: agentSessions,
    bus,
    logger,
    heartbeatSeconds: config.heartbeatSeconds,
    nowMs,
    resourceCaps: new ResourceCapsSource(settings, logger),
    traces: config.tracer && new RunTraces(config.tracer, nowMs),
    ...(observer && { observer }),
    ...(config.agentDir !== undefined && {
      upgrades: new UpgradeOffers(settings, new AgentReleases(config.agentDir, version), logger),
    }),
  });
  const fileUploads = new FileUploadService(store, nowMs, config.fileMaxBytes ?? defaultFileMaxBytes);
  const sessionSettings = config.sessions ?? defaultSessionSettings;
  const terminalSessions = new TerminalSessionService(
    store,
    settings,
    nowMs,
    { perInstance: sessionSettings.perInstance, total: sessionSettings.total },
    config.tls ? 'wss' : 'ws',
  );
  const agentHub = hub;
  const relay = new SessionRelay({
    sessions: terminalSessions,
    agents: agentSessions,
    openAtAgent: (instanceId, message, relayUrl) => agentHub.openSession(instanceId, message, relayUrl),
    bus,
    logger,
    audit,
    times: {
      idleTimeoutMs: sessionSettings.idleTimeoutSeconds * 1000,
      maxDurationMs: sessionSettings.maxDurationSeconds * 1000,
      recordingMaxBytes: sessionSettings.recordingMaxBytes,
    },
  });
  terminalSessions.attachRelays(relay);
  hub.onSessionEnd((sessionId, end) => relay.endLocal(sessionId, end));
  const services: Services = {
    accessKeys: new AccessKeyService(store, nowMs),
    authorization: new Authorization(store),
    commands: new CommandService(store, nowMs),
    activations: new ActivationService(store, nowMs),
    instances,
    invocations,
    files: new SendFileService(store, dispatcher, nowMs, config.dailyInvocationQuota, fileUploads, observer),
    idempotence: new Idempotence(store, nowMs, secrets),
    tags: new TagService(store),
    resourceGroups: new ResourceGroupService(store, nowMs),
    parameters,
    cluster: new ClusterService(store, nowMs),
    settings,
    outputDelivery,
    fileUploads,
    terminalSessions,
    webhooks: new WebhookService(store, secrets, nowMs),
    audit,
    nowMs,
    regions: config.regions,
  };
  return { services, hub, relay };
}

/** Reads the certificate and key once at start; a missing or unreadable file stops the server. */
async function readTlsFiles(files: NonNullable<ServerConfig['tls']>): Promise<{ cert: Buffer; key: Buffer }> {
  const read = (path: string, what: string) =>
    readFile(path).catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError(`cannot read the TLS ${what} ${path}: ${error.code ?? error.message}`);
    });
  return { cert: await read(files.certFile, 'certificate'), key: await read(files.keyFile, 'key') };
}

/**
 * Makes the data dir private (the root key, the secret key and the database are in it) and
 * tightens what an older version or a loose umask left readable, saying what it changed. A SQLite
 * database elsewhere is tightened too (only its files: its directory may be shared).
 */
function secureDataDir(config: ServerConfig, dataDirMode: number, logger: FastifyBaseLogger): void {
  const changed = privateDir(config.dataDir, dataDirMode);
  if (config.databaseUrl.startsWith('sqlite:')) {
    const database = config.databaseUrl.slice('sqlite:'.length);
    if (database !== ':memory:') {
      for (const suffix of ['', '-wal', '-shm']) {
        const change = tightenFile(`${database}${suffix}`);
        if (change) changed.push(change);
      }
    }
  }
  if (changed.length > 0) {
    logger.warn(
      `tightened permissions other local users had on the data dir: ${describeTightened(changed, config.dataDir)}`,
    );
  }
}

/** What the metrics' gauges read: this node's channels and the store's figures (online as InstanceService counts it). */
export function metricsSources(
  store: Store,
  hub: AgentHub,
  audit: AuditTrail,
  heartbeatSeconds: number,
  logger: FastifyBaseLogger,
): MetricsSources {
  return {
    failed: (error) => logger.warn({ err: error }, 'metrics: the fleet figures could not be read'),
    dialect: store.dialect,
    connectedAgents: () => hub.connectedCount,
    fleet: (nowMs) => store.telemetry.fleet(nowMs - 3 * heartbeatSeconds * 1000),
    pool: () => store.telemetry.pool(),
    walBytes: () => store.telemetry.walBytes(),
    ...(audit.enabled && { auditBacklog: () => audit.backlog }),
  };
}

export interface StartOptions {
  /** The data dir's mode: 0700; `up` keeps its local agent's state dir in it, which run-as users traverse (0711). */
  readonly dataDirMode?: number;
}

/** The composition root: store, services, HTTP endpoint; resolves once requests are served. */
export async function startServer(config: ServerConfig, options: StartOptions = {}): Promise<RunningServer> {
  // Written synchronously: an asynchronous destination flushes at exit with a loop that retries a
  // write to a closed pipe forever (`up 2>&1 | tee log`, then Ctrl-C, which ends tee first).
  const logger = pino(
    { level: config.logLevel, base: { pid: process.pid } },
    pino.destination({ dest: 2, sync: true }),
  );
  const nowMs = () => Date.now();
  secureDataDir(config, options.dataDirMode ?? 0o700, logger);
  // Off unless an endpoint is configured: then nothing of it exists (no tracer, no store wrapper).
  // Each process is a node of its own; nodes on one PostgreSQL database serve one fleet.
  const nodeId = `node-${randomBytes(6).toString('hex')}`;
  const tracer = config.tracing && Tracing.start(config.tracing, { id: nodeId, version }, logger);
  // Off (OPENASSIST_METRICS=0): nothing is counted or timed, and /metrics is not served.
  const metrics = config.metrics ? new ServerMetrics(servedActionNames, nowMs) : undefined;
  const openedStore = await openStore(config.databaseUrl, {
    onQuery: metrics && ((operation, seconds) => metrics.storeQuery(operation, seconds)),
  });
  const store = tracer ? tracedStore(openedStore, tracer) : openedStore;
  const rootKeySource = await ensureRootAccessKey(store, {
    dataDir: config.dataDir,
    fromEnvironment: config.rootAccessKey,
    nowMs: nowMs(),
  });
  const secretKey = await loadSecretKey(config.dataDir, config.secretKey);
  const secrets = new SecretBox(secretKey);
  const audit = new AuditTrail(store.auditEvents, {
    enabled: config.audit.enabled,
    // Derived from the cluster's shared secret key: every node digests a value alike.
    digestKey: createHmac('sha256', secretKey).update('openassist audit digest').digest(),
    export: config.audit.export,
    logger,
    ...(metrics && { observe: (outcome, records) => metrics.auditRecorded(outcome, records) }),
  });
  const startedAtMs = nowMs();
  // The server's own build unless told otherwise (`npm run build` writes the executables there).
  const agentDir = config.agentDir ?? packageAgentDir();
  const {
    services,
    hub: agentHub,
    relay,
  } = wireServices(
    store,
    logger,
    nowMs,
    { ...config, nodeId, agentDir, tls: config.tls !== undefined, tracer, observer: metrics },
    secrets,
    audit,
  );
  metrics?.watch(metricsSources(store, agentHub, audit, config.heartbeatSeconds, logger));
  // SQLite only: reads answered on other cores, each thread with a read-only connection of its own.
  const readers = startReaders(
    config.databaseUrl,
    config.sqliteReaders,
    outputShownBytes,
    logger,
    metrics && ((answered) => metrics.readerCall(answered)),
  );
  const served: Services = readers ? { ...services, readers } : services;
  await agentHub.listen();
  const app = await buildHttpServer({
    ...(config.tls && { tls: await readTlsFiles(config.tls) }),
    store,
    logger,
    nowMs,
    version,
    upgrade: (request, socket, head) =>
      agentHub.handleUpgrade(request, socket, head) || relay.handleUpgrade(request, socket, head),
    streamStallMs: config.streamStallSeconds * 1000,
    services: served,
    agentDir,
    tracing: tracer,
    ...(metrics && { metrics: { metrics, token: config.metricsToken, requests: metrics } }),
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `${config.tls ? 'https' : 'http'}://${host}:${port}`;
  relay.setNodeUrl(config.publicUrl ?? url);
  // Lets the CLI on this machine find the endpoint of the server that owns this data dir.
  await writeFile(join(config.dataDir, 'endpoint'), `${url}\n`, { mode: 0o600 });

  const stopJobs = startClusterJobs({
    store,
    logger,
    nowMs,
    node: { id: nodeId, url, version, startedAtMs },
    agents: () => agentHub.connectedCount,
    jobs: [
      {
        // Undelivered runs past the delivery timeout, and started runs past Timeout plus grace.
        name: 'delivery-timeouts',
        everyMs: deliverySweepIntervalMs,
        run: async () => {
          await services.invocations.abortOverdue(config.deliveryTimeoutSeconds * 1000);
          await services.invocations.endPastDeadline(config.runGraceSeconds * 1000);
        },
      },
      {
        // Ended runs' output to object storage: found, uploaded, failures retried with backoff.
        name: 'output-delivery',
        everyMs: outputDeliveryIntervalMs,
        run: () => services.outputDelivery.deliverDue(),
      },
      { name: 'purge-nonces', everyMs: purgeIntervalMs, run: () => store.nonces.purgeExpired(nowMs()) },
      { name: 'purge-client-tokens', everyMs: purgeIntervalMs, run: () => services.idempotence.purge() },
      {
        name: 'result-retention',
        everyMs: retentionSweepMs(config.resultRetentionDays),
        run: () => services.invocations.purgeExpired(config.resultRetentionDays),
      },
      {
        name: 'audit-retention',
        everyMs: retentionSweepMs(config.audit.retentionDays),
        run: () => audit.purgeExpired(config.audit.retentionDays, nowMs()),
      },
      { name: 'file-upload-retention', everyMs: purgeIntervalMs, run: () => services.fileUploads.purge() },
      {
        // Tokens nobody used in time end their sessions; ended sessions go with the results' retention.
        name: 'session-sweep',
        everyMs: 5_000,
        run: async () => {
          await services.terminalSessions.expireTokens();
          await services.terminalSessions.purgeExpired(config.resultRetentionDays);
        },
      },
    ],
  });
  const stopWebhooks = startWebhookDelivery({
    store,
    webhooks: services.webhooks,
    logger,
    nowMs,
    timeoutMs: config.webhooks.timeoutMs,
    retry: {
      firstDelayMs: config.webhooks.firstRetryMs,
      maxDelayMs: Math.max(config.webhooks.firstRetryMs, 3_600_000),
      giveUpAfterMs: config.webhooks.giveUpMs,
    },
  });
  logger.info(
    { url, database: redactUrl(config.databaseUrl), regions: config.regions, version },
    'server started',
  );

  return {
    url,
    rootKeySource,
    services,
    async close() {
      stopJobs();
      stopWebhooks();
      await relay.closeAll();
      await agentHub.closeAll();
      await app.close();
      await readers?.close();
      await audit.close();
      await store.close();
      // Last: the spans of everything above (agents' final reports included) go out before the exit.
      await tracer?.shutdown();
      logger.info('server stopped');
    },
  };
}
