import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
let server: ServerProcess;
let client: EcsClient;
const agents: AgentProcess[] = [];

const stateDirs: string[] = [];

/** Registers and starts one more real agent (its own state dir, kept across restarts; its own environment). */
async function newAgent(env: Record<string, string> = {}): Promise<AgentProcess> {
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  const stateDir = await mkdtemp(join(tmpdir(), 'openassist-schedule-agent-'));
  stateDirs.push(stateDir);
  const agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
    env,
    stateDir,
  });
  agents.push(agent);
  return agent;
}

/** The same agent again (same state dir and environment): a restart. */
async function restart(agent: AgentProcess, env: Record<string, string>): Promise<AgentProcess> {
  await agent.stop();
  const again = await startAgentProcess({ serverUrl: server.url, stateDir: agent.stateDir, env });
  agents.push(again);
  return again;
}

async function run(instanceId: string, script: string, fields: Record<string, unknown>): Promise<string> {
  const { body } = await client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type: 'RunShellScript',
      commandContent: script,
      instanceId: [instanceId],
      timeout: 10,
      ...fields,
    }),
  );
  return body?.invokeId ?? '';
}

async function results(invokeId: string, includeHistory: boolean) {
  const { body } = await client.describeInvocationResults(
    new Ecs.DescribeInvocationResultsRequest({
      regionId: region,
      invokeId,
      includeHistory,
      contentEncoding: 'PlainText',
      pageSize: 50,
    }),
  );
  return body?.invocation?.invocationResults?.invocationResult ?? [];
}

async function invocation(invokeId: string) {
  const { body } = await client.describeInvocations(
    new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
  );
  return body?.invocations?.invocation?.[0];
}

/** Polls until the invocation's aggregate status is one of `statuses`. */
const statusOf = (invokeId: string, statuses: readonly string[], timeoutMs = 30_000) =>
  waitFor(
    `${invokeId} to be ${statuses.join(' or ')}`,
    async () => {
      const status = (await invocation(invokeId))?.invocationStatus ?? '';
      return statuses.includes(status) ? status : undefined;
    },
    timeoutMs,
  );

/** A wall time `ms` from now, as at() reads it in the given whole-hour offset zone. */
function atExpression(ms: number, offsetHours: number): string {
  const wall = new Date(Date.now() + ms + offsetHours * 3_600_000);
  wall.setUTCMilliseconds(0);
  wall.setUTCSeconds(wall.getUTCSeconds() + 1);
  const text = wall.toISOString().slice(0, 19).replace('T', ' ');
  return `at(${text} GMT${offsetHours >= 0 ? '+' : '-'}${Math.abs(offsetHours)}:00)`;
}

let dataDir: string;

beforeAll(async () => {
  // A data dir of our own: the server is restarted on it.
  dataDir = await mkdtemp(join(tmpdir(), 'openassist-schedule-server-'));
  server = await startServerProcess({ dataDir });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
});

afterAll(async () => {
  for (const agent of agents) await agent.stop();
  await server?.stop();
  for (const dir of [...stateDirs, dataDir]) await rm(dir, { recursive: true, force: true });
});

describe('Period: the agent fires the schedule', () => {
  it('runs a 10-second cron again and again, lists every run with IncludeHistory, and StopInvocation ends it', async () => {
    const agent = await newAgent();
    const invokeId = await run(agent.instanceId, 'echo "run at $(date +%s)"', {
      frequency: '0/10 * * * * ?',
      repeatMode: 'Once', // the seed: a Frequency makes it Period whatever RepeatMode says
    });
    expect((await invocation(invokeId))?.repeatMode).toBe('Period');
    const history = await waitFor(
      'two runs of the cron',
      async () => {
        const runs = await results(invokeId, true);
        return runs.filter((r) => r.invocationStatus === 'Success').length >= 2 ? runs : undefined;
      },
      45_000,
    );
    for (const result of history.filter((r) => r.invocationStatus === 'Success')) {
      expect(result.output).toMatch(/^run at \d+\n$/);
      expect(result.exitCode).toBe(0);
      // Each run started on a 10-second boundary (within a second of it on a loaded machine).
      const started = Date.parse(result.startTime ?? '');
      expect(started % 10_000 < 1_000 || started % 10_000 > 9_000).toBe(true);
    }
    expect(new Set(history.map((r) => r.repeats)).size).toBe(history.length);
    const [latest] = await results(invokeId, false);
    expect(['Scheduled', 'Running']).toContain(latest?.invocationStatus);
    expect(latest?.repeats).toBeGreaterThanOrEqual(2);
    expect(latest?.output).toMatch(/^run at \d+\n$/);
    const described = await invocation(invokeId);
    expect(['Scheduled', 'Running']).toContain(described?.invocationStatus);
    expect(described?.invokeInstances?.invokeInstance?.[0]?.repeats).toBeGreaterThanOrEqual(2);

    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
    const runsAtStop = (await results(invokeId, true)).length;
    // Stopped means stopped: a fire time passes with no new run.
    const stoppedAt = Date.now();
    await waitFor('a fire time to pass', () => (Date.now() - stoppedAt > 11_000 ? true : undefined), 15_000);
    expect((await results(invokeId, true)).length).toBe(runsAtStop);
  }, 90_000);

  it('runs an at() a few seconds ahead once, in its zone, then finishes', async () => {
    const agent = await newAgent();
    const invokeId = await run(agent.instanceId, 'echo once', { frequency: atExpression(3_000, 8) });
    expect(await statusOf(invokeId, ['Success', 'Failed'])).toBe('Success');
    const history = await results(invokeId, true);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ invocationStatus: 'Success', output: 'once\n', repeats: 1 });
  });

  it('skips a run while the previous one still runs, and records the skip', async () => {
    const agent = await newAgent();
    // Each run takes 9-10 s of a 10 s timeout, so the next fire time finds it still running sometimes;
    // a run that outlives its timeout is ended, so at most every other fire time is skipped.
    const invokeId = await run(agent.instanceId, 'sleep 12', { frequency: '0/10 * * * * ?', timeout: 10 });
    const skipped = await waitFor(
      'a skipped run',
      async () => (await results(invokeId, true)).find((r) => r.errorCode === 'ExecutionSkipped'),
      45_000,
    );
    expect(skipped).toMatchObject({
      invocationStatus: 'Error',
      errorInfo: 'the previous run of this task was still running',
    });
    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
    const history = await results(invokeId, true);
    expect(history.some((r) => r.invocationStatus === 'Timeout' || r.invocationStatus === 'Terminated')).toBe(
      true,
    );
  }, 90_000);

  it('keeps firing while the server is down and reports every run once it is back', async () => {
    const agent = await newAgent();
    const invokeId = await run(agent.instanceId, 'echo offline-run', { frequency: '0/10 * * * * ?' });
    await waitFor(
      'a first run',
      async () => ((await results(invokeId, true)).length >= 1 ? true : undefined),
      30_000,
    );
    const listen = server.endpoint;
    const key = { id: server.accessKeyId, secret: server.accessKeySecret };
    await server.stop();
    // While the server is down, the agent's journal holds the runs it could not report.
    const journal = new Database(join(agent.stateDir, 'journal.db'), { readonly: true });
    const finishedOffline = () =>
      (
        journal.prepare(`SELECT payload FROM events WHERE invoke_id = ? AND execution > 0`).all(invokeId) as {
          payload: string;
        }[]
      ).filter((row) => JSON.parse(row.payload).kind === 'finished').length;
    await waitFor(
      'two runs while the server is down',
      () => (finishedOffline() >= 2 ? true : undefined),
      40_000,
    );
    journal.close();
    server = await startServerProcess({ dataDir, listen, accessKey: key });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const history = await waitFor(
      'the offline runs to be reported',
      async () => {
        const runs = await results(invokeId, true);
        return runs.filter((r) => r.output === 'offline-run\n').length >= 3 ? runs : undefined;
      },
      40_000,
    );
    expect(history.every((r) => r.invocationStatus !== 'Error' || r.errorCode === 'ExecutionMissed')).toBe(
      true,
    );
    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
  }, 90_000);

  it('records the runs an agent missed while it was down as a result of their own', async () => {
    const agent = await newAgent();
    const invokeId = await run(agent.instanceId, 'echo back', { frequency: '0/10 * * * * ?' });
    await waitFor(
      'a first run',
      async () => ((await results(invokeId, true)).length >= 1 ? true : undefined),
      30_000,
    );
    await agent.stop('SIGKILL');
    // Down over at least two fire times, beyond the 10 s a late run may still start.
    const downAt = Date.now();
    await waitFor('the outage', () => (Date.now() - downAt > 22_000 ? true : undefined), 30_000);
    await restart(agent, {});
    const missed = await waitFor(
      'the missed runs on record',
      async () => (await results(invokeId, true)).find((r) => r.errorCode === 'ExecutionMissed'),
      30_000,
    );
    expect(missed.invocationStatus).toBe('Error');
    expect(missed.errorInfo).toMatch(
      /the agent was not running at \d+ scheduled time\(s\), from \S+Z to \S+Z/,
    );
    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
  }, 90_000);
});

describe('reboots: NextRebootOnly and EveryReboot', () => {
  it('run at a new boot id only: once, every time, and never on a plain agent restart', async () => {
    const bootFile = join(server.dataDir, 'boot-id');
    await writeFile(bootFile, 'boot-1\n');
    const env = { OPENASSIST_AGENT_BOOT_ID_FILE: bootFile };
    let agent = await newAgent(env);
    const nextOnly = await run(agent.instanceId, 'echo next', { repeatMode: 'NextRebootOnly' });
    const every = await run(agent.instanceId, 'echo every', { repeatMode: 'EveryReboot' });
    expect((await invocation(nextOnly))?.invocationStatus).toBe('Scheduled');
    expect((await invocation(every))?.invocationStatus).toBe('Scheduled');

    /** Restarts the agent and waits until the server has handled its hello (a Once task run after it). */
    const restartAndSettle = async () => {
      agent = await restart(agent, env);
      const probe = await run(agent.instanceId, 'true', {});
      await statusOf(probe, ['Success']);
    };

    await restartAndSettle();
    expect(await results(nextOnly, true)).toMatchObject([{ invocationStatus: 'Scheduled', repeats: 0 }]);
    expect(await results(every, true)).toEqual([]);

    await writeFile(bootFile, 'boot-2\n');
    await restartAndSettle();
    expect(await statusOf(nextOnly, ['Success'])).toBe('Success');
    await waitFor('the first EveryReboot run', async () =>
      (await results(every, true)).some((r) => r.invocationStatus === 'Success') ? true : undefined,
    );
    expect(await statusOf(every, ['Scheduled'])).toBe('Scheduled');

    await writeFile(bootFile, 'boot-3\n');
    await restartAndSettle();
    const history = await waitFor('the second EveryReboot run', async () => {
      const runs = await results(every, true);
      return runs.filter((r) => r.invocationStatus === 'Success').length === 2 ? runs : undefined;
    });
    expect(history.map((r) => r.output)).toEqual(['every\n', 'every\n']);
    expect(await results(nextOnly, true)).toMatchObject([
      { invocationStatus: 'Success', output: 'next\n', repeats: 1 },
    ]);
    expect((await results(every, false))[0]).toMatchObject({ invocationStatus: 'Scheduled', repeats: 2 });

    await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId: every }));
    expect(await statusOf(every, ['Stopped'])).toBe('Stopped');
    await writeFile(bootFile, 'boot-4\n');
    await restartAndSettle();
    expect((await results(every, true)).length).toBe(2);
  }, 60_000);
});

describe('reconciliation at hello: the server’s list of schedules is authoritative', () => {
  it('re-sends a schedule the agent lost, and has the agent drop one the server does not run', async () => {
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    const agent = await ProtocolAgent.register(
      server.url,
      { id: body?.activationId ?? '', code: body?.activationCode ?? '' },
      'linux',
    );
    try {
      const invokeId = await run(agent.instanceId, 'true', { frequency: 'rate(1h)' });
      await waitFor('the schedule delivered', () => (agent.tasks.length === 1 ? true : undefined));
      expect(agent.tasks[0]?.schedule?.frequency).toBe('rate(1h)');
      expect(await statusOf(invokeId, ['Scheduled'])).toBe('Scheduled');

      await agent.reconnect([]);
      await waitFor('the lost schedule sent again', () => (agent.tasks.length === 2 ? true : undefined));
      expect(agent.tasks[1]?.invokeId).toBe(invokeId);
      expect(await statusOf(invokeId, ['Scheduled'])).toBe('Scheduled');

      await agent.reconnect([invokeId, 't-not-known-here']);
      await waitFor('the unknown schedule dropped', () =>
        agent.cancels.includes('t-not-known-here') ? true : undefined,
      );
      expect(agent.cancels).not.toContain(invokeId);
      expect(agent.tasks).toHaveLength(2);

      // Changing a schedule in place is not built: refused, and nothing changes.
      await expectApiError(
        client.modifyInvocationAttribute(
          new Ecs.ModifyInvocationAttributeRequest({ regionId: region, invokeId, frequency: 'rate(2h)' }),
        ),
        'Operation.Forbidden',
        403,
      );
      expect((await invocation(invokeId))?.frequency).toBe('rate(1h)');

      await client.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId }));
      await waitFor('the stop to reach the agent', () =>
        agent.cancels.includes(invokeId) ? true : undefined,
      );
      expect((await invocation(invokeId))?.invocationStatus).toBe('Stopping');
    } finally {
      agent.close();
    }
  });
});

describe('agent version gate', () => {
  it('marks an instance whose agent is too old ClientNeedUpgrade, and still runs Once tasks there', async () => {
    const old = await newAgent({ OPENASSIST_TEST_AGENT_VERSION: '0.1.0' });
    const current = await newAgent();
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo scheduled',
        instanceId: [old.instanceId, current.instanceId],
        repeatMode: 'EveryReboot',
      }),
    );
    const runs = await results(body?.invokeId ?? '', false);
    const byInstance = new Map(runs.map((r) => [r.instanceId, r]));
    expect(byInstance.get(old.instanceId)).toMatchObject({
      invocationStatus: 'Invalid',
      errorCode: 'ClientNeedUpgrade',
      errorInfo: 'the aliyun service in the instance need upgrade',
    });
    expect(byInstance.get(current.instanceId)?.invocationStatus).toBe('Scheduled');
    const once = await run(old.instanceId, 'echo fine', {});
    expect(await statusOf(once, ['Success'])).toBe('Success');
  });
});
