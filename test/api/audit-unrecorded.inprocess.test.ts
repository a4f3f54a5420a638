import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer } from '../../src/api/http-server.js';
import { ApiCallError, invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import type { AgentHub } from '../../src/dispatch/agent-hub.js';
import { wireServices } from '../../src/server.js';
import { AuditTrail } from '../../src/service/audit-trail.js';
import { SecretBox } from '../../src/service/secret-box.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';

// A call is never answered as a success without its record: when the record cannot be stored, the
// caller gets ServiceUnavailable, and is told the action may have taken effect.
describe('a call whose audit record cannot be stored', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let hub: AgentHub;
  let client: Credentials;
  let storageFails = false;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openassist-audit-unrecorded-'));
    store = openSqliteStore(join(dir, 'audit.db'));
    const key = { id: 'LTAIunrecorded', secret: 'unrecorded-secret' };
    await store.accessKeys.insert({ ...key, status: 'Active', description: 'root', createdAtMs: Date.now() });
    const logger = pino({ level: 'silent' });
    const failing = {
      ...store.auditEvents,
      append: async (events: Parameters<Store['auditEvents']['append']>[0]) => {
        if (storageFails) throw new Error('the audit table is unreachable');
        await store.auditEvents.append(events);
      },
    };
    const audit = new AuditTrail(failing, { enabled: true, digestKey: randomBytes(32), logger });
    const wired = wireServices(
      store,
      logger,
      Date.now,
      {
        heartbeatSeconds: 20,
        outputCapBytes: 1024 * 1024,
        dailyInvocationQuota: 1000,
        regions: ['cn-hangzhou'],
        nodeId: 'node-unrecorded',
      },
      new SecretBox(randomBytes(32)),
      audit,
    );
    hub = wired.hub;
    app = await buildHttpServer({
      store,
      logger,
      nowMs: Date.now,
      version: 'test',
      services: wired.services,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    client = { endpoint: `http://127.0.0.1:${port}`, accessKeyId: key.id, accessKeySecret: key.secret };
  });

  afterAll(async () => {
    await hub?.closeAll();
    await app?.close();
    await store?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const createCommand = (name: string) =>
    invoke<{ CommandId: string }>(client, 'CreateCommand', {
      RegionId: 'cn-hangzhou',
      Name: name,
      Type: 'RunShellScript',
      CommandContent: Buffer.from('echo hi').toString('base64'),
    });

  it('is answered 503 ServiceUnavailable, though the action took effect; the next stored call succeeds', async () => {
    storageFails = true;
    const error = await createCommand('unrecorded').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiCallError);
    expect(error).toMatchObject({ code: 'ServiceUnavailable', status: 503 });
    expect((error as ApiCallError).serverMessage).toMatch(/may have taken effect/);
    const refused = await invoke(client, 'DescribeRegions', {}).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ServiceUnavailable' });
    // Recorded after the action: the command exists, which is what the answer warns about.
    const listed = await store.commands.list(
      { regionId: 'cn-hangzhou', tags: [] },
      { style: 'page', pageNumber: 1, pageSize: 10 },
    );
    expect(listed.items.map((command) => command.name)).toContain('unrecorded');

    storageFails = false;
    const { CommandId } = await createCommand('recorded');
    const page = await store.auditEvents.lookup({ eventName: 'CreateCommand' }, 10, undefined);
    expect(page.events).toHaveLength(1);
    expect(page.events[0]?.requestParameters.Name).toBe('recorded');
    expect(CommandId).toMatch(/^c-/);
  });
});
