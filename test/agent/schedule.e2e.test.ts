import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { region, ScheduleFleet } from '../helpers/schedule-fleet.js';
import { Ecs, expectApiError } from '../helpers/sdk.js';

const fleet = new ScheduleFleet();
const { newAgent, restart, run, results, invocation, statusOf, stopInvocation } = fleet;

beforeAll(() => fleet.start());
afterAll(() => fleet.stop());

/** A wall time `ms` from now, as at() reads it in the given whole-hour offset zone. */
function atExpression(ms: number, offsetHours: number): string {
  const wall = new Date(Date.now() + ms + offsetHours * 3_600_000);
  wall.setUTCMilliseconds(0);
  wall.setUTCSeconds(wall.getUTCSeconds() + 1);
  const text = wall.toISOString().slice(0, 19).replace('T', ' ');
  return `at(${text} GMT${offsetHours >= 0 ? '+' : '-'}${Math.abs(offsetHours)}:00)`;
}

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

    await stopInvocation(invokeId);
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
    await stopInvocation(invokeId);
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
    const history = await results(invokeId, true);
    expect(history.some((r) => r.invocationStatus === 'Timeout' || r.invocationStatus === 'Terminated')).toBe(
      true,
    );
  }, 90_000);
});

describe('reboots: NextRebootOnly and EveryReboot', () => {
  it('run at a new boot id only: once, every time, and never on a plain agent restart', async () => {
    const bootFile = join(fleet.server.dataDir, 'boot-id');
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

    await stopInvocation(every);
    expect(await statusOf(every, ['Stopped'])).toBe('Stopped');
    await writeFile(bootFile, 'boot-4\n');
    await restartAndSettle();
    expect((await results(every, true)).length).toBe(2);
  }, 60_000);
});

describe('reconciliation at hello: the server’s list of schedules is authoritative', () => {
  it('re-sends a schedule the agent lost, and has the agent drop one the server does not run', async () => {
    const { body } = await fleet.client.createActivation(
      new Ecs.CreateActivationRequest({ regionId: region }),
    );
    const agent = await ProtocolAgent.register(
      fleet.server.url,
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
        fleet.client.modifyInvocationAttribute(
          new Ecs.ModifyInvocationAttributeRequest({ regionId: region, invokeId, frequency: 'rate(2h)' }),
        ),
        'Operation.Forbidden',
        403,
      );
      expect((await invocation(invokeId))?.frequency).toBe('rate(1h)');

      await stopInvocation(invokeId);
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
    const { body } = await fleet.client.runCommand(
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
