import {
  chmodSync,
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultJournalOutputMaxBytes, defaultJournalRunOutputMaxBytes } from '../config.js';
import type { AgentHealthReport, TaskEvent, TaskSpec } from '../protocol/messages.js';
import { readPayload, writeCompacted } from './journal-compaction.js';
import { encodeHeader, encodeRecord, JournalDamaged, scanRecords } from './journal-format.js';
import { type JournalOp, JournalState, runKey, runOf, type TaskState } from './journal-state.js';
import { syncDir, writeFileAtomically, writeWhole } from './journal-write.js';

export { JournalDamaged } from './journal-format.js';
export type { TaskState } from './journal-state.js';

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

export interface JournalOptions {
  /** Unacknowledged output kept per run and in all: past either, the oldest chunks are dropped. */
  readonly runOutputMaxBytes?: number;
  readonly outputMaxBytes?: number;
  /** How soon after a run ends the file is rewritten without its spec (which may hold secrets). */
  readonly scrubDelayMs?: number;
  /** A file smaller than this is never compacted for its size. */
  readonly minCompactBytes?: number;
  /** Tests: called at each step of a compaction; throwing there plays a crash at that step. */
  readonly onCompactionStep?: (step: 'written' | 'renamed') => void;
}

// Finished tasks are remembered this long, so a task re-delivered after a long outage is not run again.
const finishedMemoryMs = 7 * 24 * 3_600_000;
// A compaction of a big journal (a week of finished runs) must not run back to back: the next one
// for secrets waits at least this many times as long as the last took (≤ 2 % of the agent's time).
const scrubPaceFactor = 50;
const compactionRetryMs = 10_000;

type FinishedEvent = Extract<TaskEvent, { kind: 'finished' }>;

export const journalPath = (stateDir: string): string => join(stateDir, 'journal.log');
const compactingPath = (path: string): string => `${path}.compacting`;

type EventOp = Extract<JournalOp, { o: 'ev' }>;

/** The changes of one record. */
function parseOps(payload: Buffer): JournalOp[] {
  // Written by this journal from JournalOp values, behind a checksum (scanRecords): checking every
  // op again would cost on each start and each resend of held output.
  return JSON.parse(payload.toString('utf8')) as JournalOp[];
}

/** Replays a journal file into its state; `end` is where its whole records end (a torn tail after). */
function replay(path: string, bytes: Buffer): { state: JournalState; end: number } {
  const { records, end } = scanRecords(bytes);
  const state = new JournalState();
  for (const { at, payload } of records) {
    let ops: JournalOp[];
    try {
      ops = parseOps(payload);
    } catch {
      throw new JournalDamaged(`the record at byte ${at} of ${path} is not readable`);
    }
    const place = ops.length === 1 ? { at, length: payload.length } : undefined;
    for (const op of ops) state.apply(op, place);
  }
  return { state, end };
}

/** What an agent's journal holds, read beside the running agent (tests, inspection); changes nothing. */
export function readJournalState(stateDir: string): JournalState {
  const path = journalPath(stateDir);
  return replay(path, readFileSync(path)).state;
}

/**
 * The agent's journal, one append-only file (journal.log, journal-format.ts): every run it accepted
 * (so none runs twice), the schedules it holds, and every event the server has not acknowledged yet
 * (so no result is lost). Each change is one record appended before the call returns (an agent
 * crash loses nothing); a new run or schedule is on the disk too (fdatasync) before `accept` or
 * `holdSchedule` returns, since it must never start twice; events are synced in the background right
 * after (one sync for all writes since the last). The state lives in memory, rebuilt from the file
 * when it opens, except output, which is read back from the file when it is sent again. The file is
 * rewritten with only what is live (write a temporary file, sync, rename, sync the directory) when
 * it has grown to twice that, and soon after a run ends, so a finished run's script is not kept.
 */
export class Journal {
  private readonly path: string;
  private state: JournalState;
  private fd: number;
  /** Bytes in the file: where the next record starts. */
  private size: number;
  /** Size right after the last compaction: the file is compacted again at twice that. */
  private compactedSize: number;
  private lastCompactionMs = 0;
  private compactTimer: NodeJS.Timeout | undefined;
  private compactDueAtMs = 0;
  /** After a failed compaction, none before this. */
  private retryAtMs = 0;
  /** A write that failed and could not be undone: later records would follow garbage. */
  private broken: unknown;
  private readonly caps: { run: number; total: number };
  private syncing = false;
  private deferred = false;
  private unsynced = false;
  private closed = false;
  /** Descriptors of files replaced by a compaction, closed once no sync uses them. */
  private retired: number[] = [];
  /** Waiters for the next sync to start, which covers every record written before it. */
  private waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    stateDir: string,
    private readonly options: JournalOptions = {},
  ) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.path = journalPath(stateDir);
    this.caps = {
      run: options.runOutputMaxBytes ?? defaultJournalRunOutputMaxBytes,
      total: options.outputMaxBytes ?? defaultJournalOutputMaxBytes,
    };
    // A compaction (or a creation) that a crash interrupted before its rename: the journal itself is whole.
    rmSync(compactingPath(this.path), { force: true });
    rmSync(`${this.path}.new`, { force: true });
    if (!existsSync(this.path)) writeFileAtomically(this.path, [encodeHeader()]);
    let bytes = readFileSync(this.path);
    // Empty: created by hand, or by a tool; nothing in it to lose.
    if (bytes.length === 0) {
      writeFileAtomically(this.path, [encodeHeader()]);
      bytes = readFileSync(this.path);
    }
    const { state, end } = replay(this.path, bytes);
    this.state = state;
    // Tasks hold whole scripts, which may carry secrets: owner-only, whatever made the file.
    chmodSync(this.path, 0o600);
    this.fd = openSync(this.path, 'a+', 0o600);
    if (end < bytes.length) {
      // A record torn by a crash mid-append: it was never acknowledged to anyone.
      ftruncateSync(this.fd, end);
      fdatasyncSync(this.fd);
    }
    this.size = end;
    this.compactedSize = end;
    if (this.state.specsToScrub > 0 || this.size > this.minCompactBytes) this.compactOrRetry();
  }

  private get minCompactBytes(): number {
    return this.options.minCompactBytes ?? 1024 * 1024;
  }

  /** Appends one record; undone (the file cut back) when the write fails, so the file stays whole. */
  private write(ops: readonly JournalOp[]): { at: number; length: number } {
    if (this.closed) throw new Error('the journal is closed');
    if (this.broken !== undefined) throw this.broken;
    const payload = Buffer.from(JSON.stringify(ops), 'utf8');
    const start = this.size;
    try {
      writeWhole(this.fd, encodeRecord(payload));
    } catch (error) {
      try {
        ftruncateSync(this.fd, start);
      } catch {
        this.broken = error;
      }
      throw error;
    }
    this.size = start + 8 + payload.length;
    return { at: start + 8, length: payload.length };
  }

  /** Writes one record of changes, then applies them: memory never holds what the file does not. */
  private commit(ops: readonly JournalOp[]): void {
    const place = this.write(ops);
    for (const op of ops) this.state.apply(op, ops.length === 1 ? place : undefined);
    this.compactWhenDue();
  }

  private compactWhenDue(): void {
    if (this.closed) return;
    const grown = this.size > Math.max(this.minCompactBytes, 2 * this.compactedSize);
    if (!grown && this.state.specsToScrub === 0) return;
    const delayMs = Math.max(
      grown ? 0 : Math.max(this.options.scrubDelayMs ?? 5_000, scrubPaceFactor * this.lastCompactionMs),
      this.retryAtMs - Date.now(),
    );
    const dueAtMs = Date.now() + delayMs;
    // One compaction pending at a time; an earlier need moves it forward.
    if (this.compactTimer && this.compactDueAtMs <= dueAtMs) return;
    clearTimeout(this.compactTimer);
    this.compactDueAtMs = dueAtMs;
    this.compactTimer = setTimeout(() => {
      this.compactTimer = undefined;
      this.compactOrRetry();
    }, delayMs);
    this.compactTimer.unref();
  }

  /** Compacts; a failure (a full disk) leaves the journal as it was, and the next try waits a while. */
  private compactOrRetry(): void {
    try {
      this.compact();
    } catch {
      this.retryAtMs = Date.now() + compactionRetryMs;
    }
  }

  /**
   * Rewrites the file with only what is live. Crash-safe at every step: the new file is whole and
   * synced before it replaces the old one by a rename, and the directory is synced after it.
   */
  compact(): void {
    const started = performance.now();
    const temp = compactingPath(this.path);
    const compacted = writeCompacted(this.state, this.fd, temp);
    this.options.onCompactionStep?.('written');
    renameSync(temp, this.path);
    this.options.onCompactionStep?.('renamed');
    // From the rename on, appends go to the new file, whatever happens next.
    const old = this.fd;
    this.fd = openSync(this.path, 'a+', 0o600);
    if (this.syncing) this.retired.push(old);
    else closeSync(old);
    this.state = compacted.state;
    this.size = compacted.size;
    this.compactedSize = compacted.size;
    this.broken = undefined;
    this.lastCompactionMs = performance.now() - started;
    syncDir(dirname(this.path));
    // The new file is on the disk: whoever waited for a sync has it.
    this.unsynced = false;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters = [];
  }

  /** Whatever was written so far is on the disk when this returns. */
  private durable(): void {
    fdatasyncSync(this.fd);
    this.unsynced = false;
    // Their records came before this sync: no later one need wait for them.
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

  /** Syncs what was written so far, now, in the background; a write during a sync gets one more. */
  private startSync(): void {
    this.unsynced = true;
    if (this.syncing || this.closed) return;
    this.syncing = true;
    this.unsynced = false;
    const covered = this.waiters;
    this.waiters = [];
    fdatasync(this.fd, (error) => {
      // A failed sync is retried with the next write; the record itself is in the file.
      this.syncing = false;
      for (const waiter of covered) {
        if (error) waiter.reject(error);
        else waiter.resolve();
      }
      for (const fd of this.retired.splice(0)) closeSync(fd);
      if (this.closed) closeSync(this.fd);
      else if (this.unsynced || this.waiters.length > 0) this.startSync();
    });
  }

  /** Resolves once what was written so far is on the disk. */
  private synced(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    this.startSync();
    return done;
  }

  /** An event with the next id (`later`: the one after it, for a second event in the same record). */
  private event(run: RunRef, event: TaskEvent, later = 0): { op: JournalOp; journalled: JournalEvent } {
    const seq = this.state.nextSeq + later;
    return {
      op: { o: 'ev', n: seq, i: run.invokeId, x: run.execution, e: event },
      journalled: { eventId: String(seq), invokeId: run.invokeId, execution: run.execution, event },
    };
  }

  /** The ops that record a new run with its `accepted` event; undefined when the run was seen before. */
  private acceptOps(
    task: TaskSpec,
    run: RunRef,
    nowMs: number,
    scheduledAtMs?: number,
  ): { ops: JournalOp[]; journalled: JournalEvent } | undefined {
    const key = runKey(run.invokeId, run.execution);
    if (this.state.runs.has(key) || this.state.finished.has(key)) return undefined;
    const accepted = this.event(run, {
      kind: 'accepted',
      ...(scheduledAtMs !== undefined && { scheduledAtMs }),
    });
    const ops: JournalOp[] = [
      { o: 'run', i: run.invokeId, x: run.execution, s: 'accepted', at: nowMs, spec: task },
    ];
    if (scheduledAtMs !== undefined && this.state.schedules.has(run.invokeId)) {
      ops.push({ o: 'adv', i: run.invokeId, nx: run.execution + 1, cu: scheduledAtMs, at: nowMs });
    }
    ops.push(accepted.op);
    return { ops, journalled: accepted.journalled };
  }

  /**
   * Records a new run with its `accepted` event; undefined when the run was seen before (never run
   * twice). A scheduled run also moves its schedule on, in the same record.
   */
  accept(task: TaskSpec, run: RunRef, nowMs: number, scheduledAtMs?: number): JournalEvent | undefined {
    const accepting = this.acceptOps(task, run, nowMs, scheduledAtMs);
    if (!accepting) return undefined;
    this.commit(accepting.ops);
    this.durable();
    return accepting.journalled;
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
    const accepting = this.acceptOps(task, run, nowMs);
    if (!accepting) return undefined;
    this.commit(accepting.ops);
    return { accepted: accepting.journalled, durable: this.synced() };
  }

  stateOf(run: RunRef): TaskState | undefined {
    const key = runKey(run.invokeId, run.execution);
    return this.state.runs.get(key)?.state ?? (this.state.finished.has(key) ? 'finished' : undefined);
  }

  /**
   * Appends an event (and moves the run's state with it) in one record; returns it with its id.
   * Output past the caps makes room by dropping the oldest unacknowledged output first (the server
   * counts the bytes it never got as dropped, from the offsets).
   */
  record(run: RunRef, event: TaskEvent, nowMs: number): JournalEvent {
    const { op, journalled } = this.event(run, event);
    if (event.kind === 'output') {
      const dropped = this.state.overCaps(
        runKey(run.invokeId, run.execution),
        Buffer.byteLength(event.data, 'base64'),
        this.caps,
      );
      if (dropped.length > 0) this.commit([{ o: 'ack', n: dropped }]);
      // Alone in its record: its data stays in the file, not in memory.
      this.commit([op]);
    } else {
      const ops: JournalOp[] = [];
      if (event.kind === 'started' || event.kind === 'finished') {
        const s = event.kind === 'started' ? 'running' : 'finished';
        if (this.state.runs.has(runKey(run.invokeId, run.execution))) {
          ops.push({ o: 'state', i: run.invokeId, x: run.execution, s, at: nowMs });
        }
      }
      ops.push(op);
      this.commit(ops);
    }
    // After a power cut a run accepted or running ends interrupted alike: `started` needs no sync.
    if (event.kind !== 'started') this.syncSoon();
    return journalled;
  }

  /** What the heartbeat reports: the file's size and the events still waiting for the server. */
  health(): AgentHealthReport {
    return { journalBytes: this.size, pendingEvents: this.state.events.size };
  }

  /** Events the server has not acknowledged, oldest first. */
  unacknowledged(): JournalEvent[] {
    return [...this.state.events.values()].map((entry) => ({
      eventId: String(entry.seq),
      invokeId: entry.invokeId,
      execution: entry.execution,
      event:
        entry.event ??
        // An entry without its event has `at`: the place of its own record, one `ev` op (addEvent).
        (parseOps(readPayload(this.fd, entry.at ?? 0, entry.length))[0] as EventOp).e,
    }));
  }

  /**
   * Forgets the events of one acknowledgement, in one record. Unjournalled ones have nothing to
   * forget; a failed write (disk full) only means they are sent again, and the server ignores repeats.
   */
  acknowledge(eventIds: readonly string[]): void {
    const seqs = eventIds
      .map(Number)
      .filter((seq) => Number.isSafeInteger(seq) && this.state.events.has(seq));
    if (seqs.length === 0) return;
    try {
      this.commit([{ o: 'ack', n: seqs }]);
    } catch {
      // kept: sent again after the next reconnect
    }
  }

  /** Remembers a running task's process group, so a restarted agent can end what it left behind. */
  setProcess(run: RunRef, pid: number, bootId: string): void {
    if (!this.state.runs.has(runKey(run.invokeId, run.execution))) return;
    // Not synced: a process group matters only within this boot.
    this.commit([{ o: 'proc', i: run.invokeId, x: run.execution, pid, boot: bootId }]);
  }

  /** Runs accepted or running when the agent last stopped, with their process group if one started. */
  unfinished(): {
    task: TaskSpec;
    execution: number;
    state: TaskState;
    pid: number | undefined;
    bootId: string;
  }[] {
    return [...this.state.runs.entries()].flatMap(([key, run]) =>
      run.spec
        ? [
            {
              task: run.spec,
              execution: runOf(key).execution,
              state: run.state,
              pid: run.pid,
              bootId: run.bootId ?? '',
            },
          ]
        : [],
    );
  }

  /** Holds a new schedule (its `accepted` event on run 0); undefined when it was held before. */
  holdSchedule(task: TaskSpec, checkedUntilMs: number, nowMs: number): JournalEvent | undefined {
    if (this.state.schedules.has(task.invokeId)) return undefined;
    const { op, journalled } = this.event({ invokeId: task.invokeId, execution: 0 }, { kind: 'accepted' });
    this.commit([
      { o: 'sched', i: task.invokeId, nx: 1, cu: checkedUntilMs, ended: false, at: nowMs, spec: task },
      op,
    ]);
    this.durable();
    return journalled;
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
    const accepted = this.event(run, { kind: 'accepted', scheduledAtMs });
    const ended = this.event(run, finished, 1);
    this.commit([
      { o: 'adv', i: run.invokeId, nx: run.execution + 1, cu: checkedUntilMs, at: nowMs },
      accepted.op,
      ended.op,
    ]);
    this.syncSoon();
    return [accepted.journalled, ended.journalled];
  }

  /** Ends a schedule with its final event on run 0. */
  endSchedule(invokeId: string, finished: FinishedEvent, nowMs: number): JournalEvent {
    const { op, journalled } = this.event({ invokeId, execution: 0 }, finished);
    this.commit([{ o: 'end', i: invokeId, at: nowMs }, op]);
    this.syncSoon();
    return journalled;
  }

  heldSchedules(): HeldSchedule[] {
    return [...this.state.schedules.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap(([, schedule]) =>
        !schedule.ended && schedule.spec
          ? [
              {
                task: schedule.spec,
                nextExecution: schedule.nextExecution,
                checkedUntilMs: schedule.checkedUntilMs,
              },
            ]
          : [],
      );
  }

  /**
   * Runs the server may still wait on (not finished, or with events it has not acknowledged), at
   * most `limit`: the agent lists them in its hello, so the server can tell which runs were lost.
   */
  heldRuns(limit: number): RunRef[] {
    const held = new Map<string, RunRef>();
    for (const key of this.state.runs.keys()) {
      if (held.size >= limit) break;
      held.set(key, runOf(key));
    }
    for (const entry of this.state.events.values()) {
      if (held.size >= limit) break;
      const key = runKey(entry.invokeId, entry.execution);
      if (!held.has(key)) held.set(key, { invokeId: entry.invokeId, execution: entry.execution });
    }
    return [...held.values()];
  }

  forgetOld(nowMs: number): void {
    const before = nowMs - finishedMemoryMs;
    const due =
      [...this.state.finished.values()].some((finishedAt) => finishedAt < before) ||
      [...this.state.schedules.values()].some((schedule) => schedule.ended && schedule.updatedAt < before);
    if (due) this.commit([{ o: 'forget', before }]);
  }

  /** Closing rewrites the file first when a finished run's spec is still in it; the descriptor goes once no sync uses it. */
  close(): void {
    if (this.closed) return;
    clearTimeout(this.compactTimer);
    // A full disk: scrubbed at the next start.
    if (this.state.specsToScrub > 0 && this.broken === undefined) this.compactOrRetry();
    this.closed = true;
    for (const waiter of this.waiters) waiter.reject(new Error('the journal is closed'));
    this.waiters = [];
    if (!this.syncing) {
      closeSync(this.fd);
      for (const fd of this.retired.splice(0)) closeSync(fd);
    }
  }
}
