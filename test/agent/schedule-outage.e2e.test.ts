import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../helpers/agent-journal.js';
import { waitFor } from '../helpers/deadline.js';
import { ScheduleFleet } from '../helpers/schedule-fleet.js';

const fleet = new ScheduleFleet();
const { newAgent, restart, run, results, statusOf, stopInvocation } = fleet;

beforeAll(() => fleet.start());
afterAll(() => fleet.stop());

describe('Period: outages', () => {
  it('keeps firing while the server is down and reports every run once it is back', async () => {
    const agent = await newAgent();
    const invokeId = await run(agent.instanceId, 'echo offline-run', { frequency: '0/10 * * * * ?' });
    await waitFor(
      'a first run',
      async () => ((await results(invokeId, true)).length >= 1 ? true : undefined),
      30_000,
    );
    await fleet.restartServer(async () => {
      // While the server is down, the agent's journal holds the runs it could not report.
      const finishedOffline = () => readJournal(agent.stateDir).pendingScheduledFinished(invokeId);
      await waitFor(
        'two runs while the server is down',
        () => (finishedOffline() >= 2 ? true : undefined),
        40_000,
      );
    });
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
    await stopInvocation(invokeId);
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
    await stopInvocation(invokeId);
    expect(await statusOf(invokeId, ['Stopped'])).toBe('Stopped');
  }, 90_000);
});
