import { type Frequency, nextFireTimes, parseFrequency } from '../domain/frequency.js';
import { executionMissed, runError } from '../domain/run-errors.js';
import type { FinishedStatus, TaskEvent, TaskSpec } from '../protocol/messages.js';
import type { Executor } from './executor.js';
import { type Alarm, type FireClock, fireClockOf } from './fire-clock.js';
import type { HeldSchedule, Journal, JournalEvent } from './journal.js';

type FinishedEvent = Extract<TaskEvent, { kind: 'finished' }>;

export interface SchedulerOptions {
  readonly journal: Pick<
    Journal,
    'accept' | 'holdSchedule' | 'recordNotRun' | 'endSchedule' | 'heldSchedules'
  >;
  /** The real executor, or the load generator's in-memory one (src/agent/load/). */
  readonly executor: Pick<Executor, 'busy' | 'enqueue'>;
  readonly emit: (event: JournalEvent) => void;
  readonly nowMs: () => number;
  /** The machine's IANA time zone: a cron without a zone follows it (the seed). */
  readonly timeZone: string;
  /** A fire time found past by at most this much still runs, late; older ones are recorded missed. */
  readonly lateRunGraceMs?: number;
}

// A missed stretch is recorded as one result counting at most this many fire times.
const maxMissedCounted = 10_000;

/** One schedule in memory: its expression, where it stands, its timer. */
interface Active {
  readonly task: TaskSpec;
  readonly frequency: Frequency;
  nextExecution: number;
  checkedUntilMs: number;
  /** The coming fire time; undefined once there is none (the schedule ends after its last run). */
  nextFireMs: number | undefined;
  alarm: Alarm | undefined;
  lastStatus: FinishedStatus;
  stopping: boolean;
}

const ended = (
  atMs: number,
  status: FinishedStatus,
  error: { errorCode: string; errorInfo: string } = { errorCode: '', errorInfo: '' },
): FinishedEvent => ({ kind: 'finished', atMs, status, exitCode: null, ...error, droppedBytes: 0 });

/**
 * Evaluates the Period schedules the agent holds (DESIGN §1): fires their runs on time, without
 * the server, skipping a run while the previous one still runs and recording runs missed while the
 * agent was down; every step is journalled before it is reported.
 */
export class Scheduler {
  private readonly active = new Map<string, Active>();
  private readonly graceMs: number;
  private readonly clock: FireClock;

  constructor(private readonly options: SchedulerOptions) {
    this.graceMs = options.lateRunGraceMs ?? 10_000;
    this.clock = fireClockOf(options.nowMs);
  }

  /** Resumes the schedules the journal holds (after a restart), recording what was missed meanwhile. */
  resume(): number {
    const held = this.options.journal.heldSchedules();
    for (const schedule of held) this.load(schedule);
    return held.length;
  }

  /** The invocations whose schedules this agent holds (reported in the hello). */
  held(): string[] {
    return [...this.active.keys()];
  }

  /** A schedule from the server: held once (the journal remembers), then armed. */
  add(task: TaskSpec): void {
    if (!task.schedule) return;
    // Fire times are counted from the invocation's creation: one missed during delivery is recorded.
    let accepted: JournalEvent | undefined;
    try {
      accepted = this.options.journal.holdSchedule(task, task.schedule.startMs, this.options.nowMs());
    } catch {
      // The journal cannot take it (disk full): not held, not accepted; the server delivers it again.
      return;
    }
    if (!accepted) return;
    this.options.emit(accepted);
    this.load({ task, nextExecution: 1, checkedUntilMs: task.schedule.startMs });
  }

  /** StopInvocation (or the server no longer knows it): ends the schedule once its running run has stopped. */
  cancel(invokeId: string): void {
    const schedule = this.active.get(invokeId);
    if (!schedule) return;
    schedule.stopping = true;
    schedule.alarm?.cancel();
    schedule.nextFireMs = undefined;
    // The executor stops a running run; its end ends the schedule (see run()).
    if (!this.options.executor.busy(invokeId)) this.end(schedule, ended(this.options.nowMs(), 'Terminated'));
  }

  /** Agent shutdown: timers stop; the schedules stay held in the journal. */
  stop(): void {
    for (const schedule of this.active.values()) schedule.alarm?.cancel();
    this.active.clear();
  }

  private load(held: HeldSchedule): void {
    const { task } = held;
    let frequency: Frequency;
    try {
      // Validated by the server already; parsed against its creation so a passed at() still reads.
      frequency = parseFrequency(task.schedule?.frequency ?? '', {
        nowMs: task.schedule?.startMs ?? 0,
        timeoutSeconds: 0,
      });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.options.emit(
        this.options.journal.endSchedule(
          task.invokeId,
          ended(this.options.nowMs(), 'Error', runError('BadCronExpression', why)),
          this.options.nowMs(),
        ),
      );
      return;
    }
    const schedule: Active = {
      task,
      frequency,
      nextExecution: held.nextExecution,
      checkedUntilMs: held.checkedUntilMs,
      nextFireMs: undefined,
      alarm: undefined,
      lastStatus: 'Success',
      stopping: false,
    };
    this.active.set(task.invokeId, schedule);
    this.arm(schedule);
  }

  private fireTimesAfter(schedule: Active, afterMs: number, count: number): number[] {
    return nextFireTimes(schedule.frequency, afterMs, count, {
      defaultZone: this.options.timeZone,
      startMs: schedule.task.schedule?.startMs ?? afterMs,
    });
  }

  /** Records fire times long past as one missed result, then sets the timer for the next one. */
  private arm(schedule: Active): void {
    const now = this.options.nowMs();
    const missed: number[] = [];
    let next = this.fireTimesAfter(schedule, schedule.checkedUntilMs, 1)[0];
    while (next !== undefined && next < now - this.graceMs && missed.length < maxMissedCounted) {
      missed.push(next);
      next = this.fireTimesAfter(schedule, next, 1)[0];
    }
    if (missed.length > 0) this.recordMissed(schedule, missed);
    schedule.nextFireMs = next;
    if (next === undefined) {
      if (!this.options.executor.busy(schedule.task.invokeId)) {
        this.end(schedule, ended(now, schedule.lastStatus));
      }
      return;
    }
    schedule.alarm = this.clock.at(next, () => this.fire(schedule, next));
  }

  private recordMissed(schedule: Active, missed: number[]): void {
    const first = missed[0] ?? 0;
    const last = missed.at(-1) ?? first;
    const execution = schedule.nextExecution++;
    schedule.checkedUntilMs = last;
    schedule.lastStatus = 'Error';
    const events = this.options.journal.recordNotRun(
      { invokeId: schedule.task.invokeId, execution },
      first,
      last,
      ended(
        this.options.nowMs(),
        'Error',
        executionMissed(missed.length, first, last, missed.length >= maxMissedCounted),
      ),
      this.options.nowMs(),
    );
    for (const event of events) this.options.emit(event);
  }

  private fire(schedule: Active, fireMs: number): void {
    if (this.active.get(schedule.task.invokeId) !== schedule || schedule.stopping) return;
    const { invokeId } = schedule.task;
    const execution = schedule.nextExecution++;
    schedule.checkedUntilMs = fireMs;
    try {
      if (this.options.executor.busy(invokeId)) {
        // Runs of one task never overlap on one instance (DESIGN §4): this one is skipped, on record.
        const events = this.options.journal.recordNotRun(
          { invokeId, execution },
          fireMs,
          fireMs,
          ended(this.options.nowMs(), 'Error', runError('ExecutionSkipped')),
          this.options.nowMs(),
        );
        for (const event of events) this.options.emit(event);
      } else {
        this.run(schedule, execution, fireMs);
      }
    } catch {
      // The journal cannot take this fire time (disk full): it does not run, and as the journal
      // still stands before it, a restart records it missed. The schedule goes on.
      schedule.nextExecution = execution;
    }
    // The next fire time is worked out after this pass of the clock: schedules due at this instant
    // all start first. Until then nextFireMs still holds this one, so a run ending meanwhile does
    // not end the schedule; arm() does if none is left.
    setImmediate(() => {
      if (this.active.get(invokeId) === schedule && !schedule.stopping) this.arm(schedule);
    });
  }

  private run(schedule: Active, execution: number, fireMs: number): void {
    const task: TaskSpec = { ...schedule.task, execution };
    const job = { task, invokeId: task.invokeId, execution };
    const accepted = this.options.journal.accept(task, job, this.options.nowMs(), fireMs);
    if (!accepted) return;
    this.options.emit(accepted);
    void this.options.executor.enqueue(job).then((status) => {
      schedule.lastStatus = status;
      if (this.active.get(task.invokeId) !== schedule) return;
      if (schedule.stopping) this.end(schedule, ended(this.options.nowMs(), 'Terminated'));
      else if (schedule.nextFireMs === undefined) this.end(schedule, ended(this.options.nowMs(), status));
    });
  }

  private end(schedule: Active, finished: FinishedEvent): void {
    schedule.alarm?.cancel();
    this.active.delete(schedule.task.invokeId);
    this.options.emit(
      this.options.journal.endSchedule(schedule.task.invokeId, finished, this.options.nowMs()),
    );
  }
}
