import type { TaskEvent, TaskSpec } from '../protocol/messages.js';

export type TaskState = 'accepted' | 'running' | 'finished';

/**
 * What a journal record says, one change each; a record holds the changes of one transaction.
 * Replaying them in order rebuilds the state; a compacted journal is the same changes for what is live.
 */
export type JournalOp =
  /** A run as it stands; `spec` is kept only while it is not finished (it may hold secrets). */
  | {
      readonly o: 'run';
      readonly i: string;
      readonly x: number;
      readonly s: TaskState;
      readonly at: number;
      readonly spec?: TaskSpec;
      readonly pid?: number;
      readonly boot?: string;
    }
  | {
      readonly o: 'state';
      readonly i: string;
      readonly x: number;
      readonly s: TaskState;
      readonly at: number;
    }
  | {
      readonly o: 'proc';
      readonly i: string;
      readonly x: number;
      readonly pid: number;
      readonly boot: string;
    }
  /** A schedule as it stands; its spec dropped once it has ended. */
  | {
      readonly o: 'sched';
      readonly i: string;
      readonly nx: number;
      readonly cu: number;
      readonly ended: boolean;
      readonly at: number;
      readonly spec?: TaskSpec;
    }
  | { readonly o: 'adv'; readonly i: string; readonly nx: number; readonly cu: number; readonly at: number }
  | { readonly o: 'end'; readonly i: string; readonly at: number }
  /** An event to send; `n` its id. */
  | { readonly o: 'ev'; readonly n: number; readonly i: string; readonly x: number; readonly e: TaskEvent }
  /** Events acknowledged by the server, or dropped past the output caps. */
  | { readonly o: 'ack'; readonly n: readonly number[] }
  /** Finished runs and ended schedules last changed before `before` are forgotten. */
  | { readonly o: 'forget'; readonly before: number }
  /** The next event id (a compacted journal may hold no event to count from). */
  | { readonly o: 'seq'; readonly next: number };

export interface RunEntry {
  state: TaskState;
  updatedAt: number;
  spec: TaskSpec | undefined;
  pid: number | undefined;
  bootId: string | undefined;
}

export interface ScheduleEntry {
  spec: TaskSpec | undefined;
  nextExecution: number;
  checkedUntilMs: number;
  ended: boolean;
  updatedAt: number;
}

/** An event not acknowledged yet. Output is left in the file (`at`): only its place is in memory. */
export interface EventEntry {
  readonly seq: number;
  readonly invokeId: string;
  readonly execution: number;
  readonly kind: TaskEvent['kind'];
  readonly event: TaskEvent | undefined;
  /** An output event's record in the file: where its payload starts, and its length. */
  readonly at: number | undefined;
  readonly length: number;
  /** Raw output bytes it carries (0 for other events). */
  readonly outputBytes: number;
}

export const runKey = (invokeId: string, execution: number): string => `${invokeId}#${execution}`;
export const runOf = (key: string): { invokeId: string; execution: number } => {
  const hash = key.lastIndexOf('#');
  return { invokeId: key.slice(0, hash), execution: Number(key.slice(hash + 1)) };
};

export const outputBytesOf = (event: TaskEvent): number =>
  event.kind === 'output' ? Buffer.byteLength(event.data, 'base64') : 0;

/** The journal's live state: what replaying every record gives. */
export class JournalState {
  /** Runs accepted or running, by `runKey`. */
  readonly runs = new Map<string, RunEntry>();
  /** Finished runs (remembered so none runs twice): when each finished. A week of a busy agent's runs, so lean. */
  readonly finished = new Map<string, number>();
  readonly schedules = new Map<string, ScheduleEntry>();
  /** By id, oldest first. */
  readonly events = new Map<number, EventEntry>();
  /** Output events by run, oldest first, and their raw bytes: what the caps count. */
  readonly outputsByRun = new Map<string, number[]>();
  runOutputBytes = new Map<string, number>();
  outputBytes = 0;
  nextSeq = 1;
  /** Finished runs and ended schedules whose spec was written to the current file. */
  specsToScrub = 0;

  /**
   * Whether a finished run's spec is its own to scrub: a run of a schedule still held carries the
   * schedule's spec, which stays in the file until the schedule ends (and is counted then), so
   * rewriting the file after each firing would remove nothing.
   */
  private holdsOwnSpec(invokeId: string): boolean {
    return this.schedules.get(invokeId)?.spec === undefined;
  }

  /** Applies one change; `at`/`length` place a record holding only this op (an output is read back from there). */
  apply(op: JournalOp, place?: { at: number; length: number }): void {
    switch (op.o) {
      case 'run': {
        const key = runKey(op.i, op.x);
        if (op.s === 'finished') {
          this.runs.delete(key);
          this.finished.set(key, op.at);
          if (op.spec && this.holdsOwnSpec(op.i)) this.specsToScrub++;
          return;
        }
        this.finished.delete(key);
        this.runs.set(key, { state: op.s, updatedAt: op.at, spec: op.spec, pid: op.pid, bootId: op.boot });
        return;
      }
      case 'state': {
        const key = runKey(op.i, op.x);
        const run = this.runs.get(key);
        if (!run) return;
        if (op.s !== 'finished') {
          run.state = op.s;
          run.updatedAt = op.at;
          return;
        }
        this.runs.delete(key);
        this.finished.set(key, op.at);
        if (run.spec && this.holdsOwnSpec(op.i)) this.specsToScrub++;
        return;
      }
      case 'proc': {
        const run = this.runs.get(runKey(op.i, op.x));
        if (!run) return;
        run.pid = op.pid;
        run.bootId = op.boot;
        return;
      }
      case 'sched':
        this.schedules.set(op.i, {
          spec: op.ended ? undefined : op.spec,
          nextExecution: op.nx,
          checkedUntilMs: op.cu,
          ended: op.ended,
          updatedAt: op.at,
        });
        return;
      case 'adv': {
        const schedule = this.schedules.get(op.i);
        if (!schedule) return;
        schedule.nextExecution = op.nx;
        schedule.checkedUntilMs = op.cu;
        schedule.updatedAt = op.at;
        return;
      }
      case 'end': {
        const schedule = this.schedules.get(op.i);
        if (!schedule) return;
        schedule.ended = true;
        schedule.updatedAt = op.at;
        if (schedule.spec) this.specsToScrub++;
        schedule.spec = undefined;
        return;
      }
      case 'ev':
        this.addEvent(op, place);
        return;
      case 'ack':
        for (const seq of op.n) this.removeEvent(seq);
        return;
      case 'forget':
        for (const [key, finishedAt] of this.finished) {
          if (finishedAt < op.before) this.finished.delete(key);
        }
        for (const [key, schedule] of this.schedules) {
          if (schedule.ended && schedule.updatedAt < op.before) this.schedules.delete(key);
        }
        return;
      case 'seq':
        this.nextSeq = Math.max(this.nextSeq, op.next);
        return;
    }
  }

  private addEvent(
    op: Extract<JournalOp, { o: 'ev' }>,
    place: { at: number; length: number } | undefined,
  ): void {
    const keepInFile = op.e.kind === 'output' && place !== undefined;
    this.addEntry({
      seq: op.n,
      invokeId: op.i,
      execution: op.x,
      kind: op.e.kind,
      event: keepInFile ? undefined : op.e,
      at: keepInFile ? place.at : undefined,
      length: place?.length ?? 0,
      outputBytes: outputBytesOf(op.e),
    });
  }

  /** An output event kept in the file, copied to a new place (a compaction). */
  placeOutput(entry: EventEntry, place: { at: number; length: number }): void {
    this.addEntry({ ...entry, at: place.at, length: place.length });
  }

  private addEntry(entry: EventEntry): void {
    this.events.set(entry.seq, entry);
    this.nextSeq = Math.max(this.nextSeq, entry.seq + 1);
    if (entry.kind !== 'output') return;
    const key = runKey(entry.invokeId, entry.execution);
    const list = this.outputsByRun.get(key);
    if (list) list.push(entry.seq);
    else this.outputsByRun.set(key, [entry.seq]);
    this.runOutputBytes.set(key, (this.runOutputBytes.get(key) ?? 0) + entry.outputBytes);
    this.outputBytes += entry.outputBytes;
  }

  private removeEvent(seq: number): void {
    const entry = this.events.get(seq);
    if (!entry) return;
    this.events.delete(seq);
    if (entry.kind !== 'output') return;
    const key = runKey(entry.invokeId, entry.execution);
    const list = this.outputsByRun.get(key) ?? [];
    // Acks come oldest first: the front of the list, almost always.
    const index = list[0] === seq ? 0 : list.indexOf(seq);
    if (index >= 0) list.splice(index, 1);
    const left = (this.runOutputBytes.get(key) ?? 0) - entry.outputBytes;
    if (list.length === 0) {
      this.outputsByRun.delete(key);
      this.runOutputBytes.delete(key);
    } else this.runOutputBytes.set(key, left);
    this.outputBytes -= entry.outputBytes;
  }

  /** Output events to drop, oldest first, so that `adding` more bytes of `key`'s output fit both caps. */
  overCaps(key: string, adding: number, caps: { run: number; total: number }): number[] {
    const dropped: number[] = [];
    let runBytes = this.runOutputBytes.get(key) ?? 0;
    const runList = this.outputsByRun.get(key) ?? [];
    for (const seq of runList) {
      if (runBytes + adding <= caps.run) break;
      dropped.push(seq);
      runBytes -= this.events.get(seq)?.outputBytes ?? 0;
    }
    let total = this.outputBytes - ((this.runOutputBytes.get(key) ?? 0) - runBytes);
    if (total + adding <= caps.total) return dropped;
    const already = new Set(dropped);
    for (const entry of this.events.values()) {
      if (total + adding <= caps.total) break;
      if (entry.outputBytes === 0 || already.has(entry.seq)) continue;
      dropped.push(entry.seq);
      total -= entry.outputBytes;
    }
    return dropped;
  }
}
