import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { readJournal } from '../helpers/agent-journal.js';
import { waitFor } from '../helpers/deadline.js';
import { region, ScheduleFleet } from '../helpers/schedule-fleet.js';

const fleet = new ScheduleFleet();
beforeAll(() => fleet.start());
afterAll(() => fleet.stop());

// A small cap, so a plain script outgrows it: 256 KiB per run (the total cap is 1 MiB).
const runCapBytes = 256 * 1024;
// `seq 1 200000` prints 1,288,895 bytes.
const printed = Array.from({ length: 200_000 }, (_, i) => `${i + 1}\n`).join('');

describe('the journal of an agent whose server is away', () => {
  it('keeps the newest output up to its cap and reports the bytes it dropped, never the exit code', async () => {
    const agent = await fleet.newAgent({
      OPENASSIST_AGENT_JOURNAL_RUN_OUTPUT_MAX: String(runCapBytes),
      OPENASSIST_AGENT_JOURNAL_OUTPUT_MAX: String(1024 * 1024),
    });
    const go = join(agent.stateDir, 'go');
    const invokeId = await fleet.run(
      agent.instanceId,
      `echo started; while [ ! -e ${go} ]; do sleep 0.1; done; seq 1 200000; exit 3`,
      { timeout: 300 },
    );
    await waitFor('the script to start', async () =>
      (await fleet.results(invokeId, false))[0]?.output === 'started\n' ? true : undefined,
    );
    await fleet.restartServer(async () => {
      // The server is down: the script prints and ends; the journal holds what it could not send.
      await writeFile(go, '');
      await waitFor('the run to end in the journal', () =>
        readJournal(agent.stateDir).pendingFinished(invokeId) === 1 ? true : undefined,
      );
    });
    const row = await waitFor('the result to be reported', async () => {
      const [result] = await fleet.results(invokeId, false);
      return result?.invocationStatus === 'Failed' ? result : undefined;
    });
    expect(row).toMatchObject({ exitCode: 3, invocationStatus: 'Failed' });
    // Everything printed is either shown or counted dropped; the newest output is what was kept.
    const total = 'started\n'.length + printed.length;
    expect((row.output?.length ?? 0) + (row.dropped ?? 0)).toBe(total);
    expect(printed.endsWith(row.output ?? 'none')).toBe(true);

    // The server got at most the cap of it (after the line sent before it went away): the rest was
    // dropped by the journal, not cut for display.
    const stored = await invoke<{ TotalBytes: number; DroppedBytes: number }>(
      {
        endpoint: fleet.server.url,
        accessKeyId: fleet.server.accessKeyId,
        accessKeySecret: fleet.server.accessKeySecret,
      },
      'DescribeInvocationOutput',
      { RegionId: region, InvokeId: invokeId, InstanceId: agent.instanceId, Length: 1 },
    );
    expect(stored.TotalBytes).toBeLessThanOrEqual('started\n'.length + runCapBytes);
    expect(stored.TotalBytes).toBeGreaterThan(runCapBytes / 2);
    expect(stored.DroppedBytes).toBe(total - stored.TotalBytes);
  }, 120_000);
});
