import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoadProcess, startLoadProcess } from '../../bench/load-process.js';
import { apiOf } from '../../bench/stats.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from '../helpers/postgres.js';
import { v3Raw } from '../helpers/raw-client.js';
import { Ecs, ecsClient, invocationResults } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

/**
 * Rolling runs (docs/rolling-runs.md) on real agents: MaxConcurrency bounds the runs at once, as
 * the scripts' own clocks show; MaxErrors stops the releasing; StopInvocation too. The same on one
 * SQLite node and on two PostgreSQL nodes with the agents split between them.
 */

const region = 'cn-hangzhou';
const agentCount = 20;
const unfinished = ['Pending', 'Running', 'Scheduled', 'Stopping'];

interface Setup {
  readonly api: ServerProcess;
  readonly nodes: readonly ServerProcess[];
  readonly agents: readonly AgentProcess[];
  stop(): Promise<void>;
}

/** `nodes` servers on one database, `agentCount` agents spread over them in turn. */
async function startSetup(databaseUrl: string | undefined, nodeCount: number): Promise<Setup> {
  const accessKey = {
    id: `LTAItest${randomBytes(8).toString('hex')}`,
    secret: randomBytes(15).toString('hex'),
  };
  const nodes: ServerProcess[] = [];
  for (let i = 0; i < nodeCount; i++) {
    nodes.push(await startServerProcess({ ...(databaseUrl && { databaseUrl }), accessKey }));
  }
  const api = nodes[0] as ServerProcess;
  const client = ecsClient(api.endpoint, accessKey.id, accessKey.secret);
  const { body } = await client.createActivation(
    new Ecs.CreateActivationRequest({ regionId: region, instanceCount: agentCount }),
  );
  const agents = await Promise.all(
    Array.from({ length: agentCount }, (_, i) =>
      startAgentProcess({
        serverUrl: (nodes[i % nodeCount] as ServerProcess).url,
        activationId: body?.activationId ?? '',
        activationCode: body?.activationCode ?? '',
      }),
    ),
  );
  return {
    api,
    nodes,
    agents,
    async stop() {
      await Promise.all(agents.map((agent) => agent.stop()));
      for (const node of nodes) await node.stop();
    },
  };
}

/** RunCommand with the extension parameters: a raw signed call (the SDK's model does not know them). */
async function runRolling(
  api: ServerProcess,
  instanceIds: readonly string[],
  script: string,
  extra: Record<string, string>,
) {
  const params: Record<string, string> = {
    RegionId: region,
    Type: 'RunShellScript',
    CommandContent: script,
    ContentEncoding: 'PlainText',
    ...extra,
  };
  instanceIds.forEach((id, i) => {
    params[`InstanceId.${i + 1}`] = id;
  });
  const response = await v3Raw({
    url: api.url,
    accessKeyId: api.accessKeyId,
    accessKeySecret: api.accessKeySecret,
    action: 'RunCommand',
    params,
  });
  expect(response.status, response.text).toBe(200);
  return String(response.json.InvokeId);
}

async function describeInvocation(api: ServerProcess, invokeId: string) {
  const response = await v3Raw({
    url: api.url,
    accessKeyId: api.accessKeyId,
    accessKeySecret: api.accessKeySecret,
    action: 'DescribeInvocations',
    params: { RegionId: region, InvokeId: invokeId },
  });
  const invocations = response.json.Invocations as { Invocation: Record<string, unknown>[] };
  return invocations.Invocation[0] ?? {};
}

function allEnded(api: ServerProcess, invokeId: string, timeoutMs = 60_000) {
  const client = ecsClient(api.endpoint, api.accessKeyId, api.accessKeySecret);
  return waitFor(
    `${invokeId} to end everywhere`,
    async () => {
      const rows = await invocationResults(client, invokeId);
      return rows.length === agentCount &&
        rows.every((row) => !unfinished.includes(row.invocationStatus ?? ''))
        ? rows
        : undefined;
    },
    timeoutMs,
  );
}

/** The most runs at once, from the [start, end] each script printed from its own clock. */
function mostAtOnce(spans: readonly (readonly [number, number])[]): number {
  const edges = spans.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  // An end before a start at the same millisecond: a run that ends frees its slot first.
  edges.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let now = 0;
  let most = 0;
  for (const [, step] of edges) {
    now += step as number;
    most = Math.max(most, now);
  }
  return most;
}

function scenarios(name: string, start: () => Promise<Setup>) {
  describe(name, () => {
    let setup: Setup;
    beforeAll(async () => {
      setup = await start();
    }, 180_000);
    afterAll(async () => {
      await setup?.stop();
    }, 60_000);

    it('never runs more than MaxConcurrency at once, and runs every instance', async () => {
      const ids = setup.agents.map((agent) => agent.instanceId);
      const invokeId = await runRolling(
        setup.api,
        ids,
        'echo "start $(date +%s%3N)"; sleep 0.4; echo "end $(date +%s%3N)"',
        { MaxConcurrency: '3' },
      );
      const rows = await allEnded(setup.api, invokeId);
      expect(rows.map((row) => row.invocationStatus)).toEqual(Array(agentCount).fill('Success'));
      const spans = rows.map((row) => {
        const start = /start (\d+)/.exec(row.output ?? '')?.[1];
        const end = /end (\d+)/.exec(row.output ?? '')?.[1];
        return [Number(start), Number(end)] as const;
      });
      expect(spans.every(([start, end]) => start > 0 && end >= start)).toBe(true);
      const most = mostAtOnce(spans);
      expect(most).toBeLessThanOrEqual(3);
      expect(most).toBeGreaterThanOrEqual(2);
      const shown = await describeInvocation(setup.api, invokeId);
      expect(shown.MaxConcurrency).toBe('3');
      expect(shown.RollingProgress).toEqual({
        Targets: agentCount,
        Started: agentCount,
        Succeeded: agentCount,
        Failed: 0,
        Cancelled: 0,
        Held: 0,
      });
    }, 90_000);

    it('stops releasing once more than MaxErrors runs failed: the rest end Cancelled', async () => {
      const ids = setup.agents.map((agent) => agent.instanceId);
      // The two first instances fail at once; the third keeps its slot a while.
      const failing = ids.slice(0, 2);
      const invokeId = await runRolling(
        setup.api,
        ids,
        `case "{{ACS::InstanceId}}" in ${failing.join('|')}) exit 3;; esac; sleep 1`,
        { MaxConcurrency: '3', MaxErrors: '1' },
      );
      const rows = await allEnded(setup.api, invokeId);
      const byId = new Map(rows.map((row) => [row.instanceId, row]));
      for (const id of failing) expect(byId.get(id)?.invocationStatus).toBe('Failed');
      const cancelled = rows.filter((row) => row.invocationStatus === 'Cancelled');
      const succeeded = rows.filter((row) => row.invocationStatus === 'Success');
      expect(cancelled.length + succeeded.length).toBe(agentCount - 2);
      // The third, and at most the one released by the first failure, ran.
      expect(succeeded.length).toBeGreaterThanOrEqual(1);
      expect(succeeded.length).toBeLessThanOrEqual(2);
      expect(cancelled.every((row) => row.errorCode === 'MaxErrorsExceeded')).toBe(true);
      expect(cancelled.every((row) => row.startTime === '')).toBe(true);
      const shown = await describeInvocation(setup.api, invokeId);
      expect(shown.InvocationStatus).toBe('PartialFailed');
      expect(shown.RollingProgress).toMatchObject({
        Targets: agentCount,
        Failed: 2,
        Cancelled: cancelled.length,
        Held: 0,
        StopReason: 'MaxErrorsExceeded',
      });
    }, 90_000);

    it('StopInvocation stops the releasing: held instances end Cancelled, running ones stop', async () => {
      const ids = setup.agents.map((agent) => agent.instanceId);
      const invokeId = await runRolling(setup.api, ids, 'sleep 60', { MaxConcurrency: '10%' });
      const client = ecsClient(setup.api.endpoint, setup.api.accessKeyId, setup.api.accessKeySecret);
      await waitFor('two runs to start', async () => {
        const rows = await invocationResults(client, invokeId);
        return rows.filter((row) => row.invocationStatus === 'Running').length === 2 ? true : undefined;
      });
      const before = await describeInvocation(setup.api, invokeId);
      expect(before.RollingProgress).toMatchObject({ Targets: agentCount, Started: 2, Held: agentCount - 2 });
      await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
      const rows = await allEnded(setup.api, invokeId);
      const statuses = rows.map((row) => row.invocationStatus).sort();
      expect(statuses).toEqual([...Array(agentCount - 2).fill('Cancelled'), 'Terminated', 'Terminated']);
    }, 90_000);

    it('refuses a bad value, and MaxErrors without MaxConcurrency', async () => {
      const id = setup.agents[0]?.instanceId ?? '';
      for (const [extra, code] of [
        [{ MaxConcurrency: '0' }, 'InvalidParameter.MaxConcurrency'],
        [{ MaxConcurrency: '150%' }, 'InvalidParameter.MaxConcurrency'],
        [{ MaxConcurrency: '2', MaxErrors: 'some' }, 'InvalidParameter.MaxErrors'],
        [{ MaxErrors: '1' }, 'InvalidParameter.MaxErrors'],
      ] as const) {
        const response = await v3Raw({
          url: setup.api.url,
          accessKeyId: setup.api.accessKeyId,
          accessKeySecret: setup.api.accessKeySecret,
          action: 'RunCommand',
          params: {
            RegionId: region,
            Type: 'RunShellScript',
            CommandContent: 'true',
            'InstanceId.1': id,
            ...extra,
          },
        });
        expect({ status: response.status, code: response.json.Code }).toEqual({ status: 400, code });
      }
    });
  });
}

scenarios('Rolling runs on one node (SQLite) with 20 real agents', () => startSetup(undefined, 1));

const postgres = await postgresAvailable();
describe.skipIf(!postgres)('on a cluster', () => {
  const schema = newSchemaName();
  afterAll(() => dropSchema(schema));
  scenarios('Rolling runs across two PostgreSQL nodes, the agents split between them', () =>
    startSetup(postgresUrlFor(schema), 2),
  );
});

describe('ResourceTag beyond 50 instances', () => {
  let server: ServerProcess;
  let load: LoadProcess;
  const count = 60;

  beforeAll(async () => {
    server = await startServerProcess();
    const call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: String(count) });
    load = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
      count,
      mode: 'memory',
      namePrefix: 'rolling',
    });
    // TagResources takes 50 resources a call.
    for (const batch of [load.instanceIds.slice(0, 50), load.instanceIds.slice(50)]) {
      await call('TagResources', {
        ResourceType: 'managedinstance',
        'Tag.1.Key': 'fleet',
        'Tag.1.Value': 'rolling',
        ...Object.fromEntries(batch.map((id, i) => [`ResourceId.${i + 1}`, id])),
      });
    }
  }, 120_000);
  afterAll(async () => {
    await load?.stop();
    await server?.stop();
  });

  const byTag = (extra: Record<string, string>) =>
    v3Raw({
      url: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
      action: 'RunCommand',
      params: {
        RegionId: region,
        Type: 'RunShellScript',
        CommandContent: 'echo paced',
        ContentEncoding: 'PlainText',
        'ResourceTag.1.Key': 'fleet',
        'ResourceTag.1.Value': 'rolling',
        ...extra,
      },
    });

  it('keeps the limit of 50 without MaxConcurrency, and paces all of them with it', async () => {
    const unpaced = await byTag({});
    expect({ status: unpaced.status, code: unpaced.json.Code }).toEqual({
      status: 403,
      code: 'InstanceIds.ExceedLimit',
    });
    const paced = await byTag({ MaxConcurrency: '10%' });
    expect(paced.status, paced.text).toBe(200);
    const invokeId = String(paced.json.InvokeId);
    const progress = await waitFor(
      'every tagged instance to run',
      async () => {
        const shown = (await describeInvocation(server, invokeId)).RollingProgress as
          | Record<string, number>
          | undefined;
        return shown?.Succeeded === count ? shown : undefined;
      },
      60_000,
    );
    expect(progress).toEqual({
      Targets: count,
      Started: count,
      Succeeded: count,
      Failed: 0,
      Cancelled: 0,
      Held: 0,
    });
  }, 90_000);
});
