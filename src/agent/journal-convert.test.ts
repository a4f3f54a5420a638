import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TaskSpec } from '../protocol/messages.js';
import { AgentError } from './identity.js';
import { Journal, journalPath } from './journal.js';
import { convertSqliteJournal, sqliteJournalPath } from './journal-convert.js';
import { openJournal } from './journal-file.js';

const task = (invokeId: string, script = 'echo hi', extra: Partial<TaskSpec> = {}): TaskSpec => ({
  invokeId,
  commandType: 'RunShellScript',
  script,
  username: '',
  workingDir: '',
  timeoutSeconds: 60,
  terminationMode: 'ProcessTree',
  ...extra,
});

/** The SQLite layout agents before the file journal wrote (user_version 2), as they created it. */
const layout = `
  CREATE TABLE runs (invoke_id TEXT NOT NULL, execution INTEGER NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
    updated_at INTEGER NOT NULL, pid INTEGER, boot_id TEXT, PRIMARY KEY (invoke_id, execution));
  CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, invoke_id TEXT NOT NULL, payload TEXT NOT NULL,
    execution INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE schedules (invoke_id TEXT PRIMARY KEY, spec TEXT NOT NULL, next_execution INTEGER NOT NULL,
    checked_until INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);
  PRAGMA user_version = 2;`;

const scheduled = task('t-sched', 'echo sched', { schedule: { frequency: 'rate(1m)', startMs: 1_000 } });

/**
 * Writes an older agent's journal the way it did (WAL, nothing checkpointed) and copies what is on
 * the disk into `stateDir`, as a SIGKILL of that agent leaves it: journal.db and its -wal.
 */
function olderAgentJournal(scratch: string, stateDir: string): void {
  const path = join(scratch, 'journal.db');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec(layout);
  const run = db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)');
  run.run('t-running', 0, JSON.stringify(task('t-running')), 'running', 5, 4242, 'boot-a');
  run.run('t-done', 0, JSON.stringify(task('t-done', 'echo db-password-s3cret')), 'finished', 6, null, null);
  run.run('t-sched', 3, JSON.stringify(scheduled), 'accepted', 7, null, null);
  db.prepare('INSERT INTO schedules VALUES (?, ?, 4, 181000, 0, 7)').run(
    't-sched',
    JSON.stringify(scheduled),
  );
  const event = db.prepare('INSERT INTO events (invoke_id, execution, payload) VALUES (?, ?, ?)');
  for (let n = 0; n < 9; n++) event.run('t-gone', 0, '{"kind":"accepted"}');
  db.exec('DELETE FROM events'); // acknowledged: their ids are not used again
  event.run('t-running', 0, '{"kind":"started","atMs":5}');
  event.run(
    't-sched',
    3,
    JSON.stringify({ kind: 'output', offset: 0, data: Buffer.from('hi\n').toString('base64') }),
  );
  for (const suffix of ['', '-wal']) copyFileSync(`${path}${suffix}`, join(stateDir, `journal.db${suffix}`));
  db.close();
}

describe('an older agent’s SQLite journal', () => {
  let scratch: string;
  let stateDir: string;
  const said: string[] = [];
  const say = (line: string) => said.push(line);

  beforeEach(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'openassist-journal-convert-'));
    stateDir = join(scratch, 'state');
    said.length = 0;
    mkdirSync(stateDir);
  });

  afterEach(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  const aside = (why: string) =>
    readdirSync(stateDir).filter((name) => new RegExp(`^journal\\.db\\.${why}-\\d{8}T\\d{6}Z$`).test(name));

  it('becomes journal.log on the first start, holding the same runs, schedules and unsent events', () => {
    olderAgentJournal(scratch, stateDir);
    const journal = openJournal(stateDir, false, say);
    try {
      expect(journal.unfinished()).toEqual([
        { task: task('t-running'), execution: 0, state: 'running', pid: 4242, bootId: 'boot-a' },
        { task: scheduled, execution: 3, state: 'accepted', pid: undefined, bootId: '' },
      ]);
      expect(journal.stateOf({ invokeId: 't-done', execution: 0 })).toBe('finished');
      expect(journal.accept(task('t-done'), { invokeId: 't-done', execution: 0 }, 8)).toBeUndefined();
      expect(journal.heldSchedules()).toEqual([
        { task: scheduled, nextExecution: 4, checkedUntilMs: 181_000 },
      ]);
      expect(journal.unacknowledged()).toEqual([
        { eventId: '10', invokeId: 't-running', execution: 0, event: { kind: 'started', atMs: 5 } },
        {
          eventId: '11',
          invokeId: 't-sched',
          execution: 3,
          event: { kind: 'output', offset: 0, data: Buffer.from('hi\n').toString('base64') },
        },
      ]);
      // Ids go on after the last one SQLite gave out.
      expect(
        journal.record({ invokeId: 't-running', execution: 0 }, { kind: 'started', atMs: 9 }, 9).eventId,
      ).toBe('12');
    } finally {
      journal.close();
    }
    expect(readdirSync(stateDir).filter((name) => name.startsWith('journal.db'))).toEqual([]);
    expect(said).toEqual([
      expect.stringMatching(/converted .* \(3 run\(s\), 1 schedule\(s\), 2 unsent event\(s\)\)/),
    ]);
    // The finished run's script was not carried over.
    expect(readFileSync(journalPath(stateDir), 'latin1')).not.toContain('db-password-s3cret');
  });

  it('reads the first layout too (tasks, events without runs numbered)', () => {
    const db = new Database(sqliteJournalPath(stateDir));
    db.exec(`
      CREATE TABLE tasks (invoke_id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL,
        updated_at INTEGER NOT NULL, pid INTEGER, boot_id TEXT);
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, invoke_id TEXT NOT NULL, payload TEXT NOT NULL);`);
    db.prepare(`INSERT INTO tasks VALUES ('t-old', ?, 'running', 1, 77, 'b')`).run(
      JSON.stringify(task('t-old')),
    );
    db.prepare(`INSERT INTO events (invoke_id, payload) VALUES ('t-old', '{"kind":"accepted"}')`).run();
    db.close();
    const journal = openJournal(stateDir, false, say);
    expect(journal.unfinished()).toEqual([
      { task: task('t-old'), execution: 0, state: 'running', pid: 77, bootId: 'b' },
    ]);
    expect(journal.unacknowledged()).toEqual([
      { eventId: '1', invokeId: 't-old', execution: 0, event: { kind: 'accepted' } },
    ]);
    journal.close();
  });

  it('finishes a conversion cut off before the old file was set aside, and refuses two different journals', () => {
    olderAgentJournal(scratch, stateDir);
    const copy = join(scratch, 'copy.db');
    const restore = () => {
      for (const suffix of ['', '-wal'])
        copyFileSync(`${copy}${suffix}`, `${sqliteJournalPath(stateDir)}${suffix}`);
    };
    for (const suffix of ['', '-wal'])
      copyFileSync(`${sqliteJournalPath(stateDir)}${suffix}`, `${copy}${suffix}`);
    convertSqliteJournal(stateDir, false, say);
    // The crash came after journal.log was in place: journal.db is still there.
    restore();
    convertSqliteJournal(stateDir, false, say);
    expect(existsSync(sqliteJournalPath(stateDir))).toBe(false);
    // A journal.db beside a journal.log that is not its conversion: an older agent ran meanwhile.
    restore();
    const journal = new Journal(stateDir);
    journal.accept(task('t-new'), { invokeId: 't-new', execution: 0 }, 10);
    journal.close();
    expect(() => convertSqliteJournal(stateDir, false, say)).toThrow(
      /both .*journal\.db .* and .*journal\.log exist/,
    );
  });

  it('without the SQLite driver stops and says how to convert, or with --reset-journal keeps it aside', () => {
    olderAgentJournal(scratch, stateDir);
    const noDriver = () => undefined;
    expect(() => convertSqliteJournal(stateDir, false, say, noDriver)).toThrow(AgentError);
    expect(() => convertSqliteJournal(stateDir, false, say, noDriver)).toThrow(
      new RegExp(`from the repository \\(openassist agent --state-dir ${stateDir} …\\).*--reset-journal`),
    );
    expect(existsSync(sqliteJournalPath(stateDir))).toBe(true);
    convertSqliteJournal(stateDir, true, say, noDriver);
    expect(aside('unconverted')).toHaveLength(1);
    expect(existsSync(`${join(stateDir, aside('unconverted')[0] ?? '')}-wal`)).toBe(true);
    expect(said).toEqual([
      expect.stringContaining('was not converted: kept aside as journal.db.unconverted-'),
    ]);
  });

  it('stops on a damaged SQLite journal, and keeps it aside only when told to', () => {
    writeFileSync(sqliteJournalPath(stateDir), Buffer.alloc(8192, 0xa5));
    expect(() => openJournal(stateDir, false, say)).toThrow(/journal\.db is damaged .*--reset-journal/);
    const journal = openJournal(stateDir, true, say);
    expect(journal.unfinished()).toEqual([]);
    journal.close();
    expect(aside('damaged')).toHaveLength(1);
  });
});
