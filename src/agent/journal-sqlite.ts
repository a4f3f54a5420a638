import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { errnoCode } from '../guards.js';
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
    // require() returns any: the driver's own types describe what it loads.
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

const isSqliteDamage = (error: unknown): error is Error => {
  const code = errnoCode(error);
  return code !== undefined && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
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

interface ScheduleRow {
  invoke_id: string;
  spec: string;
  next_execution: number;
  checked_until: number;
  ended: number;
  updated_at: number;
}

interface EventRow {
  seq: number;
  invoke_id: string;
  execution: number;
  payload: string;
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
    if (isSqliteDamage(error)) throw new SqliteJournalDamaged(error.message);
    throw error;
  } finally {
    db?.close();
  }
}

// A spec column: JSON an older agent wrote from its TaskSpec, carried over unchecked as that agent
// itself would have read it back (the conversion keeps, never judges, what the journal held).
const specOf = (text: string): TaskSpec => JSON.parse(text) as TaskSpec;
// An event payload column: likewise JSON that agent wrote from its TaskEvent.
const eventOf = (text: string): TaskEvent => JSON.parse(text) as TaskEvent;

function convert(db: BetterSqlite3.Database): ConvertedJournal {
  const tables = new Set(
    db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      .all()
      .map((row) => row.name),
  );
  // The row types name the columns of the layouts above; the driver types every row unknown.
  const runRows = tables.has('runs')
    ? db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY invoke_id, execution').all()
    : tables.has('tasks')
      ? db.prepare<[], RunRow>('SELECT *, 0 AS execution FROM tasks ORDER BY invoke_id').all()
      : [];
  const scheduleRows = tables.has('schedules')
    ? db.prepare<[], ScheduleRow>('SELECT * FROM schedules ORDER BY invoke_id').all()
    : [];
  const withExecution = tables.has('events')
    ? db
        .prepare<[string], { name: string }>('SELECT name FROM pragma_table_info(?)')
        .all('events')
        .some((column) => column.name === 'execution')
    : false;
  const eventRows = tables.has('events')
    ? db
        .prepare<[], EventRow>(
          `SELECT seq, invoke_id, ${withExecution ? 'execution' : '0 AS execution'}, payload FROM events ORDER BY seq`,
        )
        .all()
    : [];
  // AUTOINCREMENT never reuses an id, even one whose event was acknowledged and deleted.
  const counted = tables.has('sqlite_sequence')
    ? (db.prepare<[], { seq: number }>(`SELECT seq FROM sqlite_sequence WHERE name = 'events'`).get()?.seq ??
      0)
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
        ...(row.state !== 'finished' && { spec: specOf(row.spec) }),
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
        ...(row.ended === 0 && { spec: specOf(row.spec) }),
      },
    ]);
  }
  for (const row of eventRows) {
    records.push([{ o: 'ev', n: row.seq, i: row.invoke_id, x: row.execution, e: eventOf(row.payload) }]);
  }
  return { records, runs: runRows.length, schedules: scheduleRows.length, events: eventRows.length };
}
