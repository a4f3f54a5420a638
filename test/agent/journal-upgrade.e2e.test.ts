import { readFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournalState } from '../../src/agent/journal.js';
import { runOf } from '../../src/agent/journal-state.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { ScheduleFleet } from '../helpers/schedule-fleet.js';

const fleet = new ScheduleFleet();
beforeAll(() => fleet.start());
afterAll(() => fleet.stop());

/** The SQLite layout of agents before the file journal (user_version 2). */
const olderLayout = `
  CREATE TABLE runs (invoke_id TEXT NOT NULL, execution INTEGER NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
    updated_at INTEGER NOT NULL, pid INTEGER, boot_id TEXT, PRIMARY KEY (invoke_id, execution));
  CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, invoke_id TEXT NOT NULL, payload TEXT NOT NULL,
    execution INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE schedules (invoke_id TEXT PRIMARY KEY, spec TEXT NOT NULL, next_execution INTEGER NOT NULL,
    checked_until INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
  PRAGMA user_version = 2;`;

/** Writes what an agent's journal holds as an older agent's journal.db would have held it, and removes journal.log. */
async function asOlderAgentJournal(stateDir: string): Promise<void> {
  const state = readJournalState(stateDir);
  const db = new Database(join(stateDir, 'journal.db'));
  db.exec(olderLayout);
  for (const [key, run] of state.runs) {
    const { invokeId, execution } = runOf(key);
    db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      invokeId,
      execution,
      JSON.stringify(run.spec),
      run.state,
      run.updatedAt,
      run.pid ?? null,
      run.bootId ?? null,
    );
  }
  for (const [invokeId, schedule] of state.schedules) {
    db.prepare('INSERT INTO schedules VALUES (?, ?, ?, ?, ?, ?)').run(
      invokeId,
      JSON.stringify(schedule.spec),
      schedule.nextExecution,
      schedule.checkedUntilMs,
      schedule.ended ? 1 : 0,
      schedule.updatedAt,
    );
  }
  db.close();
  await rm(join(stateDir, 'journal.log'));
}

/** Running, not a zombie waiting to be reaped. */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

describe('an agent upgraded from the SQLite journal', () => {
  let restarted: AgentProcess | undefined;

  afterAll(async () => {
    await restarted?.stop();
  });

  it('converts it on its first start: the run it left running ends interrupted, the schedule it held goes on', async () => {
    const agent = await fleet.newAgent();
    const pidFile = join(agent.stateDir, 'orphan-pid');
    const running = await fleet.run(agent.instanceId, `sleep 300 & echo $! > ${pidFile}; wait`, {
      timeout: 600,
    });
    const scheduled = await fleet.run(agent.instanceId, 'echo tick', { frequency: '0/10 * * * * ?' });
    await fleet.statusOf(running, ['Running']);
    await waitFor('the schedule to be held', () =>
      readJournalState(agent.stateDir).schedules.size === 1 ? true : undefined,
    );
    await waitFor('the script to write its pid', () =>
      readFile(pidFile, 'utf8').then(
        (text) => (text.trim() ? true : undefined),
        () => undefined,
      ),
    );
    // The older agent stops hard, its journal (here rewritten in its format) left as it was.
    await agent.stop('SIGKILL');
    await asOlderAgentJournal(agent.stateDir);

    restarted = await startAgentProcess({ serverUrl: fleet.server.url, stateDir: agent.stateDir });
    const said = restarted.output();
    expect(said).toMatch(
      /converted the SQLite journal of an older agent version to journal\.log \(\d+ run\(s\), 1 schedule\(s\)/,
    );
    // The sleeping run, and a scheduled run if the kill caught one.
    expect(said).toMatch(/[12] task\(s\) were interrupted by the last stop/);
    // Resumed from the journal, not delivered again by the server.
    expect(said).toContain('1 schedule(s) resumed');
    // Removed once converted: it held finished runs' scripts in clear.
    expect((await readdir(agent.stateDir)).filter((name) => name.startsWith('journal.db'))).toEqual([]);

    const [row] = await waitFor('the interrupted run to be reported', async () => {
      const rows = await fleet.results(running, false);
      return rows[0]?.invocationStatus === 'Error' ? rows : undefined;
    });
    expect(row).toMatchObject({ errorCode: 'ExecutionInterrupted' });
    // What the killed agent left running was ended by the upgraded one, found through the converted journal.
    const orphan = Number(await readFile(pidFile, 'utf8'));
    expect(orphan).toBeGreaterThan(1); // a pid that was read, never 0 or NaN (alive() would pass at once)
    await waitFor('the orphaned script to end', () => (alive(orphan) ? undefined : true));

    const before = (await fleet.results(scheduled, true)).length;
    await waitFor(
      'the schedule to run again',
      async () => ((await fleet.results(scheduled, true)).length > before ? true : undefined),
      30_000,
    );
    await fleet.stopInvocation(scheduled);
  }, 90_000);

  it('in the single executable, which has no SQLite, stops and says how to convert; the repository agent converts it', async () => {
    const executable = fileURLToPath(
      new URL(`../../dist/agent/openassist-agent-linux-${process.arch}`, import.meta.url),
    );
    const agent = await fleet.newAgent();
    await agent.stop();
    await asOlderAgentJournal(agent.stateDir);
    const journalDb = await readFile(join(agent.stateDir, 'journal.db'));

    const refused = await startAgentProcess({
      serverUrl: fleet.server.url,
      stateDir: agent.stateDir,
      executable,
      waitConnected: false,
    });
    expect(await refused.exited).not.toBe(0);
    expect(refused.output()).toContain(
      `the journal ${join(agent.stateDir, 'journal.db')} was written by an older agent version (SQLite), which this executable cannot read`,
    );
    expect(refused.output()).toContain(`openassist agent --state-dir ${agent.stateDir}`);
    expect(refused.output()).toContain('--reset-journal');
    expect(await readFile(join(agent.stateDir, 'journal.db'))).toEqual(journalDb);
    expect((await readdir(agent.stateDir)).filter((name) => name.startsWith('journal'))).toEqual([
      'journal.db',
    ]);

    const converting = await startAgentProcess({ serverUrl: fleet.server.url, stateDir: agent.stateDir });
    expect(converting.output()).toContain('converted the SQLite journal');
    await converting.stop();
    const executableAgent = await startAgentProcess({
      serverUrl: fleet.server.url,
      stateDir: agent.stateDir,
      executable,
    });
    expect(executableAgent.instanceId).toBe(agent.instanceId);
    await executableAgent.stop();
  }, 60_000);
});
