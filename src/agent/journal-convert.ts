import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { errnoCode } from '../guards.js';
import { AgentError } from './identity.js';
import { journalPath } from './journal.js';
import { encodeHeader, encodeRecord } from './journal-format.js';
import { readSqliteJournal, SqliteJournalDamaged, sqliteDriver } from './journal-sqlite.js';
import { replaceSynced, syncDir, writeSynced } from './journal-write.js';

/** Where agents before the file journal kept it (SQLite, with its -wal and -shm beside it). */
export const sqliteJournalPath = (stateDir: string): string => join(stateDir, 'journal.db');

/** `20261206T052100Z`: when a journal was set aside, sortable and safe in a file name. */
export const asideStamp = (nowMs: number): string =>
  new Date(nowMs)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');

/** Renames the SQLite journal and its -wal/-shm to `journal.db.<why>-STAMP[-wal|-shm]`, kept together. */
function setSqliteAside(path: string, why: string, nowMs: number): string {
  const aside = `${path}.${why}-${asideStamp(nowMs)}`;
  for (const suffix of ['', '-wal', '-shm']) {
    try {
      renameSync(`${path}${suffix}`, `${aside}${suffix}`);
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT') throw error;
    }
  }
  return aside;
}

const resetHint =
  'start the agent once with --reset-journal (or OPENASSIST_AGENT_RESET_JOURNAL=1) to keep it aside and ' +
  'start with an empty journal; the agent then forgets the runs it held and the results it had not sent yet';
const damagedHint =
  'To keep it aside and start with an empty one, start the agent once with --reset-journal ' +
  '(or OPENASSIST_AGENT_RESET_JOURNAL=1); the agent then forgets the runs it held and the results it had not sent yet';

/**
 * An agent upgraded from a version that kept its journal in SQLite: its journal.db becomes
 * journal.log on the first start, with the same runs, schedules and unsent results, and is kept as
 * `journal.db.converted-STAMP`. Crash-safe: journal.log is written whole (temporary file, rename)
 * before journal.db is set aside, and a start that finds both with journal.log exactly what the
 * conversion gives only finishes the job. Without the SQLite driver (the single executable) the
 * agent stops and says how to convert.
 */
export function convertSqliteJournal(
  stateDir: string,
  reset: boolean,
  say: (line: string) => void,
  loadDriver: typeof sqliteDriver = sqliteDriver,
): void {
  const dbPath = sqliteJournalPath(stateDir);
  if (!existsSync(dbPath)) return;
  const driver = loadDriver();
  if (!driver) {
    if (!reset) {
      throw new AgentError(
        `the journal ${dbPath} was written by an older agent version (SQLite), which this executable cannot read. ` +
          `Convert it by starting the agent once from the repository (openassist agent --state-dir ${stateDir} …); ` +
          `or ${resetHint}`,
      );
    }
    const aside = setSqliteAside(dbPath, 'unconverted', Date.now());
    say(
      `the older agent's SQLite journal was not converted: kept aside as ${basename(aside)}; starting with an empty one`,
    );
    return;
  }
  let converted: ReturnType<typeof readSqliteJournal>;
  try {
    converted = readSqliteJournal(driver, dbPath);
  } catch (error) {
    if (!(error instanceof SqliteJournalDamaged)) throw error;
    const reason = error.message.replace(/\s+/g, ' ').trim();
    if (!reset) throw new AgentError(`the journal ${dbPath} is damaged (${reason}). ${damagedHint}`);
    const aside = setSqliteAside(dbPath, 'damaged', Date.now());
    say(`the journal was damaged (${reason}): kept aside as ${basename(aside)}; starting with an empty one`);
    return;
  }
  const bytes = Buffer.concat([
    encodeHeader(),
    ...converted.records.map((ops) => encodeRecord(Buffer.from(JSON.stringify(ops), 'utf8'))),
  ]);
  const logPath = journalPath(stateDir);
  if (existsSync(logPath)) {
    if (!readFileSync(logPath).equals(bytes)) {
      throw new AgentError(
        `both ${dbPath} (an older agent version's journal) and ${logPath} exist: move away the one that is not this agent's current journal`,
      );
    }
  } else {
    writeSynced(`${logPath}.new`, [bytes]);
    replaceSynced(`${logPath}.new`, logPath);
  }
  // Removed, not kept: it held finished runs' scripts (resolved secrets included) for a week, and
  // its free pages may hold more.
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
  syncDir(stateDir);
  say(
    `converted the SQLite journal of an older agent version to ${basename(logPath)} ` +
      `(${converted.runs} run(s), ${converted.schedules} schedule(s), ${converted.events} unsent event(s)); ` +
      'the old file is removed',
  );
}
