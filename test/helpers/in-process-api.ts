import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Services } from '../../src/api/action.js';
import { buildHttpServer } from '../../src/api/http-server.js';
import type { AgentHub } from '../../src/dispatch/agent-hub.js';
import { wireServices } from '../../src/server.js';
import { SecretBox } from '../../src/service/secret-box.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

/** The API in this process on a fresh SQLite file, with one active key: for tests that reach inside. */
export interface InProcessApi {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly services: Services;
  /** Takes agent channels once `app` listens. */
  readonly hub: AgentHub;
  readonly key: { readonly id: string; readonly secret: string };
  close(): Promise<void>;
}

export async function startInProcessApi(name: string): Promise<InProcessApi> {
  const dir = await mkdtemp(join(tmpdir(), `openassist-${name}-`));
  const store = openSqliteStore(join(dir, `${name}.db`));
  const key = { id: `LTAI${name}`, secret: `${name}-secret` };
  await store.accessKeys.insert({ ...key, status: 'Active', description: '', createdAtMs: Date.now() });
  const logger = pino({ level: 'silent' });
  const { services, hub } = wireServices(
    store,
    logger,
    Date.now,
    {
      heartbeatSeconds: 20,
      outputCapBytes: 1024 * 1024,
      dailyInvocationQuota: 1000,
      regions: ['cn-hangzhou'],
      nodeId: `node-${name}`,
    },
    new SecretBox(randomBytes(32)),
  );
  const app = await buildHttpServer({
    store,
    logger,
    nowMs: Date.now,
    version: 'test',
    services,
    upgrade: (request, socket, head) => hub.handleUpgrade(request, socket, head),
  });
  return {
    app,
    store,
    services,
    hub,
    key,
    async close() {
      await hub.closeAll();
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
