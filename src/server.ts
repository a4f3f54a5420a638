import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { buildHttpServer } from './api/http-server.js';
import type { ServerConfig } from './config.js';
import { CommandService } from './service/commands.js';
import { ensureRootAccessKey, type RootKeySource } from './service/root-access-key.js';
import { openStore, redactUrl } from './store/open-store.js';
import { version } from './version.js';

export interface RunningServer {
  /** `http://HOST:PORT` with the real port. */
  readonly url: string;
  readonly rootKeySource: RootKeySource;
  close(): Promise<void>;
}

// Forgotten nonces only need to be purged now and then; the table is keyed, so lookups stay fast.
const noncePurgeIntervalMs = 60_000;

/** The composition root: store, services, HTTP endpoint; resolves once requests are served. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const logger = pino({ level: config.logLevel, base: { pid: process.pid } }, pino.destination(2));
  const nowMs = () => Date.now();
  await mkdir(config.dataDir, { recursive: true });
  const store = await openStore(config.databaseUrl);
  const rootKeySource = await ensureRootAccessKey(store, {
    dataDir: config.dataDir,
    fromEnvironment: config.rootAccessKey,
    nowMs: nowMs(),
  });
  const app = await buildHttpServer({
    store,
    logger,
    nowMs,
    version,
    services: { commands: new CommandService(store, nowMs), regions: config.regions },
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.listen.port;
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  const url = `http://${host}:${port}`;
  // Lets the CLI on this machine find the endpoint of the server that owns this data dir.
  await writeFile(join(config.dataDir, 'endpoint'), `${url}\n`);

  const purge = setInterval(() => {
    store.nonces
      .purgeExpired(nowMs())
      .catch((error: unknown) => logger.warn({ err: error }, 'nonce purge failed'));
  }, noncePurgeIntervalMs);
  purge.unref();
  logger.info(
    { url, database: redactUrl(config.databaseUrl), regions: config.regions, version },
    'server started',
  );

  return {
    url,
    rootKeySource,
    async close() {
      clearInterval(purge);
      await app.close();
      await store.close();
      logger.info('server stopped');
      logger.flush();
    },
  };
}
