import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type { TaskEvent, TaskSpec } from '../protocol/messages.js';
import type { JournalOp } from './journal-state.js';

// The only place the agent touches better-sqlite3: agents before the file journal kept their
// journal in SQLite (journal.db). Loaded on demand, and only when such a file is there to convert:
// from the repository the driver is installed; the single executable has none.

// A name in a variable: a bundler leaves the require to run time instead of bundling the driver
// (the single executable's require loads Node's own modules only, so there it throws).
const driverPackage = 'better-sqlite3';

/** The SQLite driver, or undefined where it cannot be loaded (the single executable). */
export function sqliteDriver(): typeof BetterSqlite3 | undefined {
  try {
    return createRequire(import.meta.url)(driverPackage) as typeof BetterSqlite3;
  } catch {
    return undefined;
  }
}

/** An older agent's SQLite journal that SQLite cannot read (its integrity check failed). */
export class SqliteJournalDamaged extends Error {
  override name = 'SqliteJournalDamaged';
}

export interface ConvertedJournal {
  /** The same runs, schedules and unsent events as file-journal changes, one record each. */
  readonly records: JournalOp[][];
  readonly runs: number;
  readonly schedules: number;
  readonly events: number;
}

const isSqliteDamage = (error: unknown): boolean => {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
};

interface RunRow {
  invoke_id: string;
  execution: number;
  spec: string;
  state: 'accepted' | 'running' | 'finished';
  updated_at: number;
  pid: number | null;
  boot_id: string | null;
}

/**
 * Reads an older agent's journal.db into file-journal records, in a fixed order (the same file
 * gives the same records). Finished runs and ended schedules lose their spec on the way, as the
 * file journal keeps none. Layouts: `runs`/`schedules` (user_version 2) and the first one
 * (`tasks`, events without execution).
 */
export function readSqliteJournal(driver: typeof BetterSqlite3, path: string): ConvertedJournal {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new driver(path, { fileMustExist: true });
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') throw new SqliteJournalDamaged(String(check));
    return convert(db);
  } catch (error) {
    if (isSqliteDamage(error)) throw new SqliteJournalDamaged((error as Error).message);
    throw error;
  } finally {
    db?.close();
  }
}

function convert(db: BetterSqlite3.Database): ConvertedJournal {
  const tables = new Set(
    (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as { name: string }[]).map(
      (row) => row.name,
    ),
  );
  const runRows = (
    tables.has('runs')
      ? db.prepare('SELECT * FROM runs ORDER BY invoke_id, execution').all()
      : tables.has('tasks')
        ? db.prepare('SELECT *, 0 AS execution FROM tasks ORDER BY invoke_id').all()
        : []
  ) as RunRow[];
  const scheduleRows = (
    tables.has('schedules') ? db.prepare('SELECT * FROM schedules ORDER BY invoke_id').all() : []
  ) as {
    invoke_id: string;
    spec: string;
    next_execution: number;
    checked_until: number;
    ended: number;
    updated_at: number;
  }[];
  const withExecution = tables.has('events')
    ? (db.prepare('SELECT name FROM pragma_table_info(?)').all('events') as { name: string }[]).some(
        (column) => column.name === 'execution',
      )
    : false;
  const eventRows = (
    tables.has('events')
      ? db
          .prepare(
            `SELECT seq, invoke_id, ${withExecution ? 'execution' : '0 AS execution'}, payload FROM events ORDER BY seq`,
          )
          .all()
      : []
  ) as { seq: number; invoke_id: string; execution: number; payload: string }[];
  // AUTOINCREMENT never reuses an id, even one whose event was acknowledged and deleted.
  const counted = tables.has('sqlite_sequence')
    ? ((
        db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get() as
          | { seq: number }
          | undefined
      )?.seq ?? 0)
    : 0;
  // The rows come in seq order: the last is the highest (a spread of every row overflows the stack).
  const lastSeq = Math.max(counted, eventRows.at(-1)?.seq ?? 0);

  const records: JournalOp[][] = [[{ o: 'seq', next: lastSeq + 1 }]];
  for (const row of runRows) {
    records.push([
      {
        o: 'run',
        i: row.invoke_id,
        x: row.execution,
        s: row.state,
        at: row.updated_at,
        ...(row.state !== 'finished' && { spec: JSON.parse(row.spec) as TaskSpec }),
        ...(row.pid !== null && { pid: row.pid }),
        ...(row.boot_id !== null && { boot: row.boot_id }),
      },
    ]);
  }
  for (const row of scheduleRows) {
    records.push([
      {
        o: 'sched',
        i: row.invoke_id,
        nx: row.next_execution,
        cu: row.checked_until,
        ended: row.ended !== 0,
        at: row.updated_at,
        ...(row.ended === 0 && { spec: JSON.parse(row.spec) as TaskSpec }),
      },
    ]);
  }
  for (const row of eventRows) {
    records.push([
      { o: 'ev', n: row.seq, i: row.invoke_id, x: row.execution, e: JSON.parse(row.payload) as TaskEvent },
    ]);
  }
  return { records, runs: runRows.length, schedules: scheduleRows.length, events: eventRows.length };
}
