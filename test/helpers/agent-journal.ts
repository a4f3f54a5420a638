import { join } from 'node:path';
import Database from 'better-sqlite3';

/** What a real agent's journal (STATE_DIR/journal.db) says, read beside the running agent. */
export interface JournalState {
  /** Events the server has not acknowledged yet. */
  readonly unacknowledged: number;
  /** Runs accepted or running: the agent has not settled them. */
  readonly unfinished: number;
  /** `finished` events of one task not acknowledged yet (a result produced while cut off). */
  readonly pendingFinished: (invokeId: string) => number;
}

/** Opens the journal read-only for one look; the agent keeps writing meanwhile (WAL). */
export function readJournal(stateDir: string): JournalState {
  const db = new Database(join(stateDir, 'journal.db'), { readonly: true, fileMustExist: true });
  try {
    const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const payloads = (
      db.prepare('SELECT invoke_id, payload FROM events').all() as { invoke_id: string; payload: string }[]
    ).map((row) => ({ invokeId: row.invoke_id, kind: (JSON.parse(row.payload) as { kind: string }).kind }));
    return {
      unacknowledged: count('SELECT count(*) AS n FROM events'),
      unfinished: count(`SELECT count(*) AS n FROM runs WHERE state != 'finished'`),
      pendingFinished: (invokeId) =>
        payloads.filter((event) => event.invokeId === invokeId && event.kind === 'finished').length,
    };
  } finally {
    db.close();
  }
}

/**
 * True once the agent has settled everything in its journal: no run left accepted or running and
 * every event acknowledged by the server. A re-run would show up here as a run or an event.
 */
export function journalSettled(stateDir: string): true | undefined {
  const state = readJournal(stateDir);
  return state.unacknowledged === 0 && state.unfinished === 0 ? true : undefined;
}
