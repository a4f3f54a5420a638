import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { TaskEvent, TaskSpec } from '../protocol/messages.js';

export type TaskState = 'accepted' | 'running' | 'finished';

export interface JournalEvent {
  readonly eventId: string;
  readonly invokeId: string;
  readonly event: TaskEvent;
}

// Finished tasks are remembered this long, so a task re-delivered after a long outage is not run again.
const finishedMemoryMs = 7 * 24 * 3_600_000;

/**
 * The agent's own SQLite file: every task it accepted (so none runs twice) and every event the
 * server has not acknowledged yet (so no result is lost). Writes are synchronous: when a call
 * returns, the fact is on disk (WAL, synchronous=FULL).
 */
export class Journal {
  private readonly db: Database.Database;
  private readonly statements;

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // Tasks hold whole scripts, which may carry secrets: owner-only. SQLite gives its -wal and -shm
    // files the database file's mode, so creating the file first covers them too.
    const path = join(stateDir, 'journal.db');
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS tasks (
        invoke_id TEXT PRIMARY KEY,
        spec TEXT NOT NULL,
        state TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        pid INTEGER,
        boot_id TEXT
      );
      CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        invoke_id TEXT NOT NULL,
        payload TEXT NOT NULL
      );`);
    this.statements = {
      accept: this.db.prepare(
        `INSERT INTO tasks (invoke_id, spec, state, updated_at) VALUES (?, ?, 'accepted', ?) ON CONFLICT DO NOTHING`,
      ),
      setState: this.db.prepare('UPDATE tasks SET state = ?, updated_at = ? WHERE invoke_id = ?'),
      state: this.db.prepare('SELECT state FROM tasks WHERE invoke_id = ?'),
      unfinished: this.db.prepare(`SELECT spec, state, pid, boot_id FROM tasks WHERE state != 'finished'`),
      setProcess: this.db.prepare('UPDATE tasks SET pid = ?, boot_id = ? WHERE invoke_id = ?'),
      append: this.db.prepare('INSERT INTO events (invoke_id, payload) VALUES (?, ?)'),
      pending: this.db.prepare('SELECT seq, invoke_id, payload FROM events ORDER BY seq'),
      ack: this.db.prepare('DELETE FROM events WHERE seq = ?'),
      forget: this.db.prepare(`DELETE FROM tasks WHERE state = 'finished' AND updated_at < ?`),
    };
  }

  /** Records a new task with its `accepted` event; undefined when the task was seen before (never run twice). */
  accept(task: TaskSpec, nowMs: number): JournalEvent | undefined {
    return this.db.transaction(() => {
      if (this.statements.accept.run(task.invokeId, JSON.stringify(task), nowMs).changes === 0)
        return undefined;
      const event: TaskEvent = { kind: 'accepted' };
      const seq = this.statements.append.run(task.invokeId, JSON.stringify(event)).lastInsertRowid;
      return { eventId: String(seq), invokeId: task.invokeId, event };
    })();
  }

  stateOf(invokeId: string): TaskState | undefined {
    return (this.statements.state.get(invokeId) as { state: TaskState } | undefined)?.state;
  }

  /** Appends an event (and moves the task's state with it) in one transaction; returns its id. */
  record(invokeId: string, event: TaskEvent, nowMs: number): JournalEvent {
    return this.db.transaction(() => {
      if (event.kind === 'started') this.statements.setState.run('running', nowMs, invokeId);
      if (event.kind === 'finished') this.statements.setState.run('finished', nowMs, invokeId);
      const seq = this.statements.append.run(invokeId, JSON.stringify(event)).lastInsertRowid;
      return { eventId: String(seq), invokeId, event };
    })();
  }

  /** Events the server has not acknowledged, oldest first. */
  unacknowledged(): JournalEvent[] {
    return (this.statements.pending.all() as { seq: number; invoke_id: string; payload: string }[]).map(
      (row) => ({
        eventId: String(row.seq),
        invokeId: row.invoke_id,
        event: JSON.parse(row.payload) as TaskEvent,
      }),
    );
  }

  acknowledge(eventId: string): void {
    this.statements.ack.run(Number(eventId));
  }

  /** Remembers a running task's process group, so a restarted agent can end what it left behind. */
  setProcess(invokeId: string, pid: number, bootId: string): void {
    this.statements.setProcess.run(pid, bootId, invokeId);
  }

  /** Tasks accepted or running when the agent last stopped, with their process group if one started. */
  unfinished(): { task: TaskSpec; state: TaskState; pid: number | undefined; bootId: string }[] {
    const rows = this.statements.unfinished.all() as {
      spec: string;
      state: TaskState;
      pid: number | null;
      boot_id: string | null;
    }[];
    return rows.map((row) => ({
      task: JSON.parse(row.spec) as TaskSpec,
      state: row.state,
      pid: row.pid ?? undefined,
      bootId: row.boot_id ?? '',
    }));
  }

  forgetOld(nowMs: number): void {
    this.statements.forget.run(nowMs - finishedMemoryMs);
  }

  close(): void {
    this.db.close();
  }
}
