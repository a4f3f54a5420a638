import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyCacheMs } from '../../src/api/access-key-cache.js';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { followInvocation } from '../../src/client/stream.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

const region = 'cn-hangzhou';
const ram = '2015-05-01';
// A stream of a revoked key must end well within this, on a loaded machine (the recheck is a few seconds).
const endsWithinMs = 30_000;
const testTimeoutMs = 120_000;

/** Root's credentials on one node. */
const rootOn = (server: ServerProcess, key: { id: string; secret: string }): Credentials => ({
  endpoint: server.url,
  accessKeyId: key.id,
  accessKeySecret: key.secret,
});

async function newKey(root: Credentials, limits: Record<string, string> = {}): Promise<Credentials> {
  const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
    root,
    'CreateAccessKey',
    limits,
    ram,
  );
  return {
    endpoint: root.endpoint,
    accessKeyId: AccessKey.AccessKeyId,
    accessKeySecret: AccessKey.AccessKeySecret,
  };
}

/** A run that prints `started` and then stays Running: its stream would never end by itself. */
async function longRun(root: Credentials, instanceId: string): Promise<string> {
  const { body } = await ecsClient(
    new URL(root.endpoint).host,
    root.accessKeyId,
    root.accessKeySecret,
  ).runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: 'echo started; sleep 600',
      instanceId: [instanceId],
      timeout: 700,
    }),
  );
  return body?.invokeId ?? '';
}

/**
 * Follows `invokeId` with `key` (the client reconnects when a stream ends early) until `started`
 * arrives, then calls `revoke`; resolves with the error code the follow ended with and how long
 * after the revocation that was.
 */
async function followThenRevoke(
  key: Credentials,
  invokeId: string,
  revoke: () => Promise<unknown>,
): Promise<{ code: string; afterMs: number; timedOut: boolean }> {
  const signal = AbortSignal.timeout(endsWithinMs + 30_000);
  let revokedAt = 0;
  try {
    for await (const event of followInvocation(key, { invokeId, signal, retryDelayMs: 200 })) {
      const text = event.type === 'output' ? Buffer.from(event.data.Output, 'base64').toString('utf8') : '';
      if (revokedAt === 0 && text.includes('started')) {
        await revoke();
        revokedAt = Date.now();
      }
    }
    return { code: 'ended', afterMs: Date.now() - revokedAt, timedOut: signal.aborted };
  } catch (error) {
    return {
      code: String((error as { code?: string }).code),
      afterMs: Date.now() - revokedAt,
      timedOut: signal.aborted,
    };
  }
}

const stopRun = (root: Credentials, invokeId: string) =>
  invoke(root, 'StopInvocation', { RegionId: region, InvokeId: invokeId }).catch(() => undefined);

describe('a revoked key loses its open streams (SQLite, one server)', () => {
  let server: ServerProcess;
  let agent: AgentProcess;
  let root: Credentials;

  beforeAll(async () => {
    server = await startServerProcess();
    root = rootOn(server, { id: server.accessKeyId, secret: server.accessKeySecret });
    const { body } = await ecsClient(
      server.endpoint,
      root.accessKeyId,
      root.accessKeySecret,
    ).createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
    });
  }, 90_000);

  afterAll(async () => {
    await agent?.stop();
    await server?.stop();
  }, testTimeoutMs);

  it(
    'ends the stream of a key that is disabled, and the client cannot resume it',
    async () => {
      const key = await newKey(root);
      const invokeId = await longRun(root, agent.instanceId);
      const outcome = await followThenRevoke(key, invokeId, () =>
        invoke(root, 'UpdateAccessKey', { UserAccessKeyId: key.accessKeyId, Status: 'Inactive' }, ram),
      );
      await stopRun(root, invokeId);
      expect(outcome.timedOut).toBe(false);
      expect(outcome.code).toBe('InvalidAccessKeyId.Inactive');
      expect(outcome.afterMs).toBeLessThan(endsWithinMs);
    },
    testTimeoutMs,
  );

  it(
    'ends the stream of a key that is deleted',
    async () => {
      const key = await newKey(root);
      const invokeId = await longRun(root, agent.instanceId);
      const outcome = await followThenRevoke(key, invokeId, () =>
        invoke(root, 'DeleteAccessKey', { UserAccessKeyId: key.accessKeyId }, ram),
      );
      await stopRun(root, invokeId);
      expect(outcome.timedOut).toBe(false);
      expect(outcome.code).toBe('InvalidAccessKeyId.NotFound');
      expect(outcome.afterMs).toBeLessThan(endsWithinMs);
    },
    testTimeoutMs,
  );

  it("keeps the streams of other keys open (a revocation ends only that key's)", async () => {
    const kept = await newKey(root);
    const revoked = await newKey(root);
    const invokeId = await longRun(root, agent.instanceId);
    const controller = new AbortController();
    const keptTypes: string[] = [];
    const keptFollow = (async () => {
      for await (const event of followInvocation(kept, { invokeId, signal: controller.signal })) {
        keptTypes.push(event.type);
      }
    })();
    const outcome = await followThenRevoke(revoked, invokeId, () =>
      invoke(root, 'UpdateAccessKey', { UserAccessKeyId: revoked.accessKeyId, Status: 'Inactive' }, ram),
    );
    expect(outcome.code).toBe('InvalidAccessKeyId.Inactive');
    // Stopping the run ends the kept stream the ordinary way, with its final status and `end`.
    await stopRun(root, invokeId);
    await keptFollow;
    expect(keptTypes.at(-1)).toBe('end');
  });
});

const postgres = await postgresAvailable();

describe.skipIf(!postgres)('a revoked key loses its open streams on every cluster node (PostgreSQL)', () => {
  let cluster: TwoNodes;
  let nodeA: ServerProcess;
  let nodeB: ServerProcess;
  let rootKey: TwoNodes['rootKey'];
  let agent: AgentProcess;

  beforeAll(async () => {
    cluster = await startTwoNodes();
    ({ nodeA, nodeB, agent, rootKey } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  }, testTimeoutMs);

  it(
    'ends a stream served by node A when node B disables its key',
    async () => {
      const rootA = rootOn(nodeA, rootKey);
      const rootB = rootOn(nodeB, rootKey);
      const key = await newKey(rootA);
      const invokeId = await longRun(rootB, agent.instanceId);
      const outcome = await followThenRevoke(key, invokeId, () =>
        invoke(rootB, 'UpdateAccessKey', { UserAccessKeyId: key.accessKeyId, Status: 'Inactive' }, ram),
      );
      await stopRun(rootB, invokeId);
      expect(outcome.timedOut).toBe(false);
      expect(outcome.code).toBe('InvalidAccessKeyId.Inactive');
      expect(outcome.afterMs).toBeLessThan(endsWithinMs);
    },
    testTimeoutMs,
  );

  it('refuses on node A a key that node B disabled, within its key cache time', async () => {
    const rootB = rootOn(nodeB, rootKey);
    const key = { ...(await newKey(rootOn(nodeA, rootKey))), endpoint: nodeA.url };
    const outcome = (on: Credentials) =>
      invoke(on, 'DescribeRegions', {}).then(
        () => 'accepted',
        (error: unknown) => String((error as { code?: string }).code),
      );
    // Node A has read the key: it holds it now.
    expect(await outcome(key)).toBe('accepted');
    await invoke(rootB, 'UpdateAccessKey', { UserAccessKeyId: key.accessKeyId, Status: 'Inactive' }, ram);
    const disabledAt = performance.now();
    expect(await outcome({ ...key, endpoint: nodeB.url })).toBe('InvalidAccessKeyId.Inactive');
    const code = await waitFor('node A to refuse the key', async () => {
      const seen = await outcome(key);
      return seen === 'accepted' ? undefined : seen;
    });
    expect(code).toBe('InvalidAccessKeyId.Inactive');
    // The cache's second plus the time a call takes on a loaded machine.
    expect(performance.now() - disabledAt).toBeLessThan(keyCacheMs + 3_000);
  });

  it('ends a stream served by node A when node B deletes its key', async () => {
    const rootA = rootOn(nodeA, rootKey);
    const rootB = rootOn(nodeB, rootKey);
    const key = await newKey(rootA);
    const invokeId = await longRun(rootB, agent.instanceId);
    const outcome = await followThenRevoke(key, invokeId, () =>
      invoke(rootB, 'DeleteAccessKey', { UserAccessKeyId: key.accessKeyId }, ram),
    );
    await stopRun(rootB, invokeId);
    expect(outcome.timedOut).toBe(false);
    expect(outcome.code).toBe('InvalidAccessKeyId.NotFound');
    expect(outcome.afterMs).toBeLessThan(endsWithinMs);
  });
});
