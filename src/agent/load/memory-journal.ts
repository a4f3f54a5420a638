import type { AgentHealthReport, TaskEvent, TaskSpec } from '../../protocol/messages.js';
import type { HeldSchedule, Journal, JournalEvent, RunRef } from '../journal.js';

type FinishedEvent = Extract<TaskEvent, { kind: 'finished' }>;

/** The part of the agent's journal that the executor and the scheduler use. */
export type RunJournal = Pick<
  Journal,
  | 'accept'
  | 'acceptThen'
  | 'record'
  | 'setProcess'
  | 'unfinished'
  | 'holdSchedule'
  | 'recordNotRun'
  | 'endSchedule'
  | 'heldSchedules'
  | 'unacknowledged'
  | 'acknowledge'
>;

const keyOf = (run: RunRef): string => `${run.invokeId}#${run.execution}`;

/**
 * The journal of one load-generator identity, kept in memory: the same rules as the agent's file
 * journal (a run is accepted once, events wait for their ack, schedules move on as they fire) at a
 * few hundred bytes per identity, so one process can hold thousands. It survives no restart, which
 * a load generator does not need.
 */
export class MemoryJournal implements RunJournal {
  /** Every run accepted and not yet finished for the server: enough to refuse one a second time. */
  private readonly runs = new Set<string>();
  private readonly pending = new Map<string, JournalEvent>();
  private readonly schedules = new Map<string, HeldSchedule & { ended: boolean }>();
  private seq = 0;
  /** Runs that have finished (the executor records their end; schedules end through endSchedule). */
  finishedRuns = 0;

  /** No file: only the events waiting for the server. */
  health(): AgentHealthReport {
    return { journalBytes: 0, pendingEvents: this.pending.size };
  }

  private append(run: RunRef, event: TaskEvent): JournalEvent {
    const journalled = {
      eventId: String(++this.seq),
      invokeId: run.invokeId,
      execution: run.execution,
      event,
    };
    this.pending.set(journalled.eventId, journalled);
    return journalled;
  }

  private advance(invokeId: string, nextExecution: number, checkedUntilMs: number): void {
    const schedule = this.schedules.get(invokeId);
    if (schedule) this.schedules.set(invokeId, { ...schedule, nextExecution, checkedUntilMs });
  }

  accept(_task: TaskSpec, run: RunRef, _nowMs: number, scheduledAtMs?: number): JournalEvent | undefined {
    const key = keyOf(run);
    if (this.runs.has(key)) return undefined;
    this.runs.add(key);
    if (scheduledAtMs !== undefined) this.advance(run.invokeId, run.execution + 1, scheduledAtMs);
    return this.append(run, { kind: 'accepted', ...(scheduledAtMs !== undefined && { scheduledAtMs }) });
  }

  acceptThen(task: TaskSpec, run: RunRef, nowMs: number): ReturnType<Journal['acceptThen']> {
    const accepted = this.accept(task, run, nowMs);
    return accepted && { accepted, durable: Promise.resolve() };
  }

  record(run: RunRef, event: TaskEvent, _nowMs: number): JournalEvent {
    if (event.kind === 'finished') this.finishedRuns++;
    return this.append(run, event);
  }

  setProcess(): void {
    // Nothing outlives this process, so there is no process group to find again.
  }

  unfinished(): ReturnType<Journal['unfinished']> {
    // Nothing was left running by an earlier life of this journal: it has none.
    return [];
  }

  holdSchedule(task: TaskSpec, checkedUntilMs: number, _nowMs: number): JournalEvent | undefined {
    if (this.schedules.has(task.invokeId)) return undefined;
    this.schedules.set(task.invokeId, { task, nextExecution: 1, checkedUntilMs, ended: false });
    return this.append({ invokeId: task.invokeId, execution: 0 }, { kind: 'accepted' });
  }

  recordNotRun(
    run: RunRef,
    scheduledAtMs: number,
    checkedUntilMs: number,
    finished: FinishedEvent,
    _nowMs: number,
  ): JournalEvent[] {
    this.advance(run.invokeId, run.execution + 1, checkedUntilMs);
    return [this.append(run, { kind: 'accepted', scheduledAtMs }), this.append(run, finished)];
  }

  endSchedule(invokeId: string, finished: FinishedEvent, _nowMs: number): JournalEvent {
    const schedule = this.schedules.get(invokeId);
    if (schedule) schedule.ended = true;
    return this.append({ invokeId, execution: 0 }, finished);
  }

  heldSchedules(): HeldSchedule[] {
    return [...this.schedules.values()]
      .filter((schedule) => !schedule.ended)
      .map(({ task, nextExecution, checkedUntilMs }) => ({ task, nextExecution, checkedUntilMs }));
  }

  unacknowledged(): JournalEvent[] {
    return [...this.pending.values()];
  }

  /**
   * Once the server holds a run's end it never sends that run again, so the run is forgotten: a
   * generator answering 100,000 runs keeps no more than the ones in flight.
   */
  acknowledge(eventIds: readonly string[]): void {
    for (const eventId of eventIds) {
      const acknowledged = this.pending.get(eventId);
      this.pending.delete(eventId);
      if (acknowledged?.event.kind !== 'finished') continue;
      this.runs.delete(keyOf(acknowledged));
      if (this.schedules.get(acknowledged.invokeId)?.ended) this.schedules.delete(acknowledged.invokeId);
    }
  }
}
