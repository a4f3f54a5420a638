import { chmodSync, closeSync, fdatasync, fdatasyncSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { createPrivateFile } from '../private-files.js';
import type { TaskEvent, TaskSpec } from '../protocol/messages.js';

// Required, not imported: agent.ts says why (ws).
const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

export type TaskState = 'accepted' | 'running' | 'finished';

/** A run of a task: execution 0 is a task's only run; n ≥ 1 the runs of schedules and EveryReboot tasks. */
export interface RunRef {
  readonly invokeId: string;
  readonly execution: number;
}

export interface JournalEvent extends RunRef {
  readonly eventId: string;
  readonly event: TaskEvent;
}

/** A schedule the agent holds: its task and how far its fire times have been dealt with. */
export interface HeldSchedule {
  readonly task: TaskSpec;
  readonly nextExecution: number;
  /** Every fire time up to here has run, been skipped or been recorded missed. */
  readonly checkedUntilMs: number;
}

// Finished tasks are remembered this long, so a task re-delivered after a long outage is not run again.
const finishedMemoryMs = 7 * 24 * 3_600_000;

type FinishedEvent = Extract<TaskEvent, { kind: 'finished' }>;

export const journalPath = (stateDir: string): string => join(stateDir, 'journal.db');

/** The journal file cannot be read as a database (SQLite's integrity check failed). */
export class JournalDamaged extends Error {
  override name = 'JournalDamaged';
  readonly code = 'SQLITE_CORRUPT';
}

/** Journal layouts, in order; `user_version` says how many have been applied. */
const migrations = [
  `CREATE TABLE IF NOT EXISTS tasks (
     invoke_id TEXT PRIMARY KEY, spec TEXT NOT NULL, state TEXT NOT NULL, updated_at INTEGER NOT NULL,
     pid INTEGER, boot_id TEXT);
   CREATE TABLE IF NOT EXISTS events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT, invoke_id TEXT NOT NULL, payload TEXT NOT NULL);`,
  // Runs of one task are told apart by execution; schedules are held beside them.
  `CREATE TABLE runs (
     invoke_id TEXT NOT NULL, execution INTEGER NOT NULL, spec TEXT NOT NULL, state TEXT NOT NULL,
     updated_at INTEGER NOT NULL, pid INTEGER, boot_id TEXT, PRIMARY KEY (invoke_id, execution));
   INSERT INTO runs SELECT invoke_id, 0, spec, state, updated_at, pid, boot_id FROM tasks;
   DROP TABLE tasks;
   ALTER TABLE events ADD COLUMN execution INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE schedules (
     invoke_id TEXT PRIMARY KEY, spec TEXT NOT NULL, next_execution INTEGER NOT NULL,
     checked_until INTEGER NOT NULL, ended INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL);`,
];

/**
 * The agent's own SQLite file: every run it accepted (so none runs twice), the schedules it holds,
 * and every event the server has not acknowledged yet (so no result is lost). When a call returns,
 * its write is in the file (an agent crash loses nothing). A new run or schedule is on the disk too
 * (the WAL synced, as synchronous=FULL would) before `accept` or `holdSchedule` returns, since it
 * must never start twice; events are synced in the background right after (one sync for all writes
 * since the last), so they go out without waiting for the disk.
 */
export class Journal {
  private readonly db: BetterSqlite3.Database;
  private readonly statements;
  /** The WAL file, which holds every commit until a checkpoint: syncing it makes them durable. */
  private readonly wal: number;
  private syncing = false;
  private deferred = false;
  private unsynced = false;
  private closed = false;
  /** Waiters for the next sync to start, which covers every commit made before it. */
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(stateDir: string) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    // Tasks hold whole scripts, which may carry secrets: owner-only. SQLite gives its -wal and -shm
    // files the database file's mode, so creating the file first covers them too.
    const path = journalPath(stateDir);
    createPrivateFile(path);
    chmodSync(path, 0o600);
    this.db = new Database(path);
    try {
      this.db.pragma('journal_mode = WAL');
      // A file whose header is sound may still hold broken pages: found now, not mid-run.
      const check = this.db.pragma('quick_check(1)', { simple: true });
      if (check !== 'ok') throw new JournalDamaged(String(check));
      // Commits do not wait for the disk; `durable` and `syncSoon` sync the WAL where it matters.
      this.db.pragma('synchronous = NORMAL');
      const applied = this.db.pragma('user_version', { simple: true }) as number;
      for (const [index, sql] of migrations.entries()) {
        if (index < applied) continue;
        this.db.transaction(() => {
          this.db.exec(sql);
          this.db.pragma(`user_version = ${index + 1}`);
        })();
      }
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.wal = openSync(`${path}-wal`, 'a', 0o600);
    this.statements = {
      accept: this.db.prepare(
        `INSERT INTO runs (invoke_id, execution, spec, state, updated_at) VALUES (?, ?, ?, 'accepted', ?)
         ON CONFLICT DO NOTHING`,
      ),
      setState: this.db.prepare(
        'UPDATE runs SET state = ?, updated_at = ? WHERE invoke_id = ? AND execution = ?',
      ),
      state: this.db.prepare('SELECT state FROM runs WHERE invoke_id = ? AND execution = ?'),
      unfinished: this.db.prepare(
        `SELECT spec, execution, state, pid, boot_id FROM runs WHERE state != 'finished'`,
      ),
      setProcess: this.db.prepare(
        'UPDATE runs SET pid = ?, boot_id = ? WHERE invoke_id = ? AND execution = ?',
      ),
      append: this.db.prepare('INSERT INTO events (invoke_id, execution, payload) VALUES (?, ?, ?)'),
      pending: this.db.prepare('SELECT seq, invoke_id, execution, payload FROM events ORDER BY seq'),
      ack: this.db.prepare('DELETE FROM events WHERE seq = ?'),
      forget: this.db.prepare(`DELETE FROM runs WHERE state = 'finished' AND updated_at < ?`),
      hold: this.db.prepare(
        `INSERT INTO schedules (invoke_id, spec, next_execution, checked_until, updated_at)
         VALUES (?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      advance: this.db.prepare(
        'UPDATE schedules SET next_execution = ?, checked_until = ?, updated_at = ? WHERE invoke_id = ?',
      ),
      end: this.db.prepare('UPDATE schedules SET ended = 1, updated_at = ? WHERE invoke_id = ?'),
      held: this.db.prepare(
        'SELECT spec, next_execution, checked_until FROM schedules WHERE ended = 0 ORDER BY invoke_id',
      ),
      forgetSchedules: this.db.prepare('DELETE FROM schedules WHERE ended = 1 AND updated_at < ?'),
      heldRuns: this.db.prepare(
        `SELECT invoke_id, execution FROM runs WHERE state != 'finished'
         UNION SELECT invoke_id, execution FROM events LIMIT ?`,
      ),
    };
  }

  /** Whatever was committed so far is on the disk when this returns. */
  private durable(): void {
    fdatasyncSync(this.wal);
    this.unsynced = false;
    // Their commits came before this sync: no later one need wait for them.
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Syncs in the background once this turn of the event loop is over: writes made together share one sync. */
  private syncSoon(): void {
    this.unsynced = true;
    if (this.deferred) return;
    this.deferred = true;
    setImmediate(() => {
      this.deferred = false;
      if (this.unsynced) this.startSync();
    });
  }

  /** Syncs what was committed so far, now, in the background; a write during a sync gets one more. */
  private startSync(): void {
    this.unsynced = true;
    if (this.syncing || this.closed) return;
    this.syncing = true;
    this.unsynced = false;
    const covered = this.waiters;
    this.waiters = [];
    fdatasync(this.wal, (error) => {
      // A failed sync is retried with the next write; the commit itself has succeeded.
      this.syncing = false;
      for (const waiter of covered) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      if (this.closed) closeSync(this.wal);
      else if (this.unsynced || this.waiters.length > 0) this.startSync();
    });
  }

  /** Resolves once what was committed so far is on the disk. */
  private synced(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.startSync();
    return done;
  }

  private append(run: RunRef, event: TaskEvent): JournalEvent {
    const seq = this.statements.append.run(
      run.invokeId,
      run.execution,
      JSON.stringify(event),
    ).lastInsertRowid;
    return { eventId: String(seq), invokeId: run.invokeId, execution: run.execution, event };
  }

  /**
   * Records a new run with its `accepted` event; undefined when the run was seen before (never run
   * twice). A scheduled run also moves its schedule on, in the same transaction.
   */
  accept(task: TaskSpec, run: RunRef, nowMs: number, scheduledAtMs?: number): JournalEvent | undefined {
    const accepted = this.db.transaction(() => {
      const inserted = this.statements.accept.run(run.invokeId, run.execution, JSON.stringify(task), nowMs);
      if (inserted.changes === 0) return undefined;
      if (scheduledAtMs !== undefined) {
        this.statements.advance.run(run.execution + 1, scheduledAtMs, nowMs, run.invokeId);
      }
      return this.append(run, {
        kind: 'accepted',
        ...(scheduledAtMs !== undefined && { scheduledAtMs }),
      });
    })();
    if (accepted) this.durable();
    return accepted;
  }

  /**
   * `accept` without waiting for the disk: the run is in the file when this returns and on the disk
   * when `durable` resolves; it must not start before (a run the disk lost could be delivered again).
   */
  acceptThen(
    task: TaskSpec,
    run: RunRef,
    nowMs: number,
  ): { accepted: JournalEvent; durable: Promise<void> } | undefined {
    const accepted = this.db.transaction(() => {
      const inserted = this.statements.accept.run(run.invokeId, run.execution, JSON.stringify(task), nowMs);
      return inserted.changes === 0 ? undefined : this.append(run, { kind: 'accepted' });
    })();
    return accepted && { accepted, durable: this.synced() };
  }

  stateOf(run: RunRef): TaskState | undefined {
    return (this.statements.state.get(run.invokeId, run.execution) as { state: TaskState } | undefined)
      ?.state;
  }

  /** Appends an event (and moves the run's state with it) in one transaction; returns its id. */
  record(run: RunRef, event: TaskEvent, nowMs: number): JournalEvent {
    const recorded = this.db.transaction(() => {
      if (event.kind === 'started')
        this.statements.setState.run('running', nowMs, run.invokeId, run.execution);
      if (event.kind === 'finished')
        this.statements.setState.run('finished', nowMs, run.invokeId, run.execution);
      return this.append(run, event);
    })();
    // After a power cut a run accepted or running ends interrupted alike: `started` needs no sync.
    if (event.kind !== 'started') this.syncSoon();
    return recorded;
  }

  /** Events the server has not acknowledged, oldest first. */
  unacknowledged(): JournalEvent[] {
    const rows = this.statements.pending.all() as {
      seq: number;
      invoke_id: string;
      execution: number;
      payload: string;
    }[];
    return rows.map((row) => ({
      eventId: String(row.seq),
      invokeId: row.invoke_id,
      execution: row.execution,
      event: JSON.parse(row.payload) as TaskEvent,
    }));
  }

  /** Forgets an acknowledged event. Unjournalled ones have nothing to forget; a failed delete (disk full) only means the event is sent again, and the server ignores repeats. */
  acknowledge(eventId: string): void {
    const seq = Number(eventId);
    if (!Number.isSafeInteger(seq)) return;
    try {
      this.statements.ack.run(seq);
    } catch {
      // kept: sent again after the next reconnect
    }
  }

  /** Remembers a running task's process group, so a restarted agent can end what it left behind. */
  setProcess(run: RunRef, pid: number, bootId: string): void {
    // Not synced: a process group matters only within this boot.
    this.statements.setProcess.run(pid, bootId, run.invokeId, run.execution);
  }

  /** Runs accepted or running when the agent last stopped, with their process group if one started. */
  unfinished(): {
    task: TaskSpec;
    execution: number;
    state: TaskState;
    pid: number | undefined;
    bootId: string;
  }[] {
    const rows = this.statements.unfinished.all() as {
      spec: string;
      execution: number;
      state: TaskState;
      pid: number | null;
      boot_id: string | null;
    }[];
    return rows.map((row) => ({
      task: JSON.parse(row.spec) as TaskSpec,
      execution: row.execution,
      state: row.state,
      pid: row.pid ?? undefined,
      bootId: row.boot_id ?? '',
    }));
  }

  /** Holds a new schedule (its `accepted` event on run 0); undefined when it was held before. */
  holdSchedule(task: TaskSpec, checkedUntilMs: number, nowMs: number): JournalEvent | undefined {
    const accepted = this.db.transaction(() => {
      const inserted = this.statements.hold.run(task.invokeId, JSON.stringify(task), checkedUntilMs, nowMs);
      return inserted.changes === 0
        ? undefined
        : this.append({ invokeId: task.invokeId, execution: 0 }, { kind: 'accepted' });
    })();
    if (accepted) this.durable();
    return accepted;
  }

  /**
   * Records a scheduled run that did not run (skipped, or missed while the agent was down) as run
   * `execution`, due at `scheduledAtMs`, and moves the schedule past `checkedUntilMs`.
   */
  recordNotRun(
    run: RunRef,
    scheduledAtMs: number,
    checkedUntilMs: number,
    finished: FinishedEvent,
    nowMs: number,
  ): JournalEvent[] {
    const recorded = this.db.transaction(() => {
      this.statements.advance.run(run.execution + 1, checkedUntilMs, nowMs, run.invokeId);
      return [this.append(run, { kind: 'accepted', scheduledAtMs }), this.append(run, finished)];
    })();
    this.syncSoon();
    return recorded;
  }

  /** Ends a schedule with its final event on run 0. */
  endSchedule(invokeId: string, finished: FinishedEvent, nowMs: number): JournalEvent {
    const recorded = this.db.transaction(() => {
      this.statements.end.run(nowMs, invokeId);
      return this.append({ invokeId, execution: 0 }, finished);
    })();
    this.syncSoon();
    return recorded;
  }

  heldSchedules(): HeldSchedule[] {
    const rows = this.statements.held.all() as {
      spec: string;
      next_execution: number;
      checked_until: number;
    }[];
    return rows.map((row) => ({
      task: JSON.parse(row.spec) as TaskSpec,
      nextExecution: row.next_execution,
      checkedUntilMs: row.checked_until,
    }));
  }

  /**
   * Runs the server may still wait on (not finished, or with events it has not acknowledged), at
   * most `limit`: the agent lists them in its hello, so the server can tell which runs were lost.
   */
  heldRuns(limit: number): RunRef[] {
    const rows = this.statements.heldRuns.all(limit) as { invoke_id: string; execution: number }[];
    return rows.map((row) => ({ invokeId: row.invoke_id, execution: row.execution }));
  }

  forgetOld(nowMs: number): void {
    this.statements.forget.run(nowMs - finishedMemoryMs);
    this.statements.forgetSchedules.run(nowMs - finishedMemoryMs);
  }

  /** Closing checkpoints the WAL into the database file, synced; the WAL's descriptor goes once no sync uses it. */
  close(): void {
    this.db.close();
    this.closed = true;
    for (const waiter of this.waiters) waiter.reject(new Error('the journal is closed'));
    this.waiters = [];
    if (!this.syncing) closeSync(this.wal);
  }
}
