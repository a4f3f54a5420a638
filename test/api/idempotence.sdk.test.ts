import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const b64 = (text: string) => Buffer.from(text).toString('base64');

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`ClientToken idempotence on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let client: EcsClient;
    let dataDir: string;
    let key: { id: string; secret: string };

    beforeAll(async () => {
      backend = factory.make();
      dataDir = await mkdtemp(join(tmpdir(), 'openassist-idem-'));
      server = await startServerProcess({ databaseUrl: backend.databaseUrl, dataDir });
      key = { id: server.accessKeyId, secret: server.accessKeySecret };
      client = ecsClient(server.endpoint, key.id, key.secret);
    });

    afterAll(async () => {
      await server?.stop();
      await backend?.dispose();
      await rm(dataDir, { recursive: true, force: true });
    });

    const create = (clientToken: string, name = 'idem', timeout = 60) =>
      client.createCommand(
        new Ecs.CreateCommandRequest({
          regionId: region,
          name,
          type: 'RunShellScript',
          commandContent: b64('echo'),
          timeout,
          clientToken,
        }),
      );
    const count = async (name: string) =>
      (await client.describeCommands(new Ecs.DescribeCommandsRequest({ regionId: region, name }))).body
        ?.totalCount;

    it('answers a repeat with the first response and creates nothing twice', async () => {
      const first = await create('token-repeat', 'repeat');
      const again = await create('token-repeat', 'repeat');
      expect(again.body?.commandId).toBe(first.body?.commandId);
      expect(again.body?.requestId).not.toBe(first.body?.requestId);
      expect(await count('repeat')).toBe(1);
    });

    it('refuses the same token with other parameters', async () => {
      await create('token-mismatch', 'mismatch');
      await expectApiError(create('token-mismatch', 'other-name'), 'IdempotentParameterMismatch', 403);
    });

    it('creates one command under many concurrent identical requests', async () => {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 20 }, () => create('token-race', 'race')),
      );
      const ids = new Set(
        outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.body?.commandId] : [])),
      );
      const refused = outcomes.flatMap((o) =>
        o.status === 'rejected' ? [(o.reason as { code: string }).code] : [],
      );
      expect(ids.size).toBe(1);
      expect(new Set(refused).size).toBeLessThanOrEqual(1);
      if (refused.length > 0) expect(refused[0]).toBe('IdempotentProcessing');
      expect(await count('race')).toBe(1);
      expect((await create('token-race', 'race')).body?.commandId).toBe([...ids][0]);
    });

    it('lets a failed request be retried with its token', async () => {
      await expectApiError(create('token-retry', 'retry', 5), 'InvalidParameter.Timeout', 400);
      const ok = await create('token-retry', 'retry', 60);
      expect(ok.body?.commandId).toMatch(/^c-/);
    });

    it('replays CreateActivation with its code, which is kept nowhere in clear', async () => {
      const activate = () =>
        client.createActivation(
          new Ecs.CreateActivationRequest({ regionId: region, clientToken: 'token-activation' }),
        );
      const first = await activate();
      const again = await activate();
      expect(again.body?.activationId).toBe(first.body?.activationId);
      expect(again.body?.activationCode).toBe(first.body?.activationCode);
      if (factory.name === 'sqlite') {
        for (const file of await readdir(dataDir)) {
          if (!file.startsWith('openassist.db')) continue;
          const bytes = await readFile(join(dataDir, file));
          expect(bytes.includes(first.body?.activationCode ?? 'none'), file).toBe(false);
        }
      }
    });

    it("keeps tokens per access key: no other key, scoped to a group or not, gets root's answer", async () => {
      const root: Credentials = { endpoint: server.url, accessKeyId: key.id, accessKeySecret: key.secret };
      const { ResourceGroup } = await invoke<{ ResourceGroup: { Id: string } }>(
        root,
        'CreateResourceGroup',
        { Name: 'token-scope', DisplayName: 'token-scope' },
        '2020-03-31',
      );
      const newKey = async (limits: Record<string, string>) => {
        const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
          root,
          'CreateAccessKey',
          limits,
          '2015-05-01',
        );
        return ecsClient(server.endpoint, AccessKey.AccessKeyId, AccessKey.AccessKeySecret);
      };
      const scoped = await newKey({ ResourceGroupId: ResourceGroup.Id });
      const other = await newKey({});
      const activate = (as: EcsClient) =>
        as.createActivation(
          new Ecs.CreateActivationRequest({
            regionId: region,
            clientToken: 'token-key-scope',
            instanceCount: 2,
          }),
        );
      const byRoot = (await activate(client)).body;
      const byScoped = (await activate(scoped)).body;
      const byOther = (await activate(other)).body;
      const ids = [byRoot?.activationId, byScoped?.activationId, byOther?.activationId];
      expect(new Set(ids).size).toBe(3);
      expect(byScoped?.activationCode).not.toBe(byRoot?.activationCode);
      expect(byOther?.activationCode).not.toBe(byRoot?.activationCode);
      // Each key still gets its own first answer again, and the scoped key's activation is in its group.
      expect((await activate(scoped)).body?.activationId).toBe(byScoped?.activationId);
      expect((await activate(client)).body?.activationCode).toBe(byRoot?.activationCode);
      const seen = await scoped.describeActivations(
        new Ecs.DescribeActivationsRequest({ regionId: region, activationId: byScoped?.activationId }),
      );
      expect(seen.body?.activationList?.[0]?.resourceGroupId).toBe(ResourceGroup.Id);
    });

    it('keeps tokens across a server restart', async () => {
      const first = await create('token-restart', 'restart');
      expect(await server.stop()).toBe(0);
      // Same database: the root key made at the first start is still the one that works.
      server = await startServerProcess({ databaseUrl: backend.databaseUrl, dataDir });
      client = ecsClient(server.endpoint, key.id, key.secret);
      expect((await create('token-restart', 'restart')).body?.commandId).toBe(first.body?.commandId);
    });
  });
}
