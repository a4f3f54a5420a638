import type { FinishedStatus, TaskSpec } from '../../protocol/messages.js';
import type { Executor, Job } from '../executor.js';
import type { JournalEvent } from '../journal.js';
import type { RunJournal } from './memory-journal.js';

/** What a load-generator identity needs from an executor: the real one (spawn mode) or this one. */
export type TaskExecutor = Pick<
  Executor,
  'submit' | 'enqueue' | 'busy' | 'cancel' | 'stopAll' | 'activeCount'
>;

/** The output of a run answered from memory: the script's first line, so a test can tell runs apart. */
export const memoryOutput = (task: TaskSpec): string =>
  `memory mode: ${task.script.split('\n', 1)[0] ?? ''}\n`;

/**
 * Answers every run at once with a canned success (exit 0, `memoryOutput`), through the same
 * journalled events a real run sends (accepted, started, output, finished), so a load test
 * measures the control plane without the cost of processes.
 */
/** Runs answered from memory and not finished yet, over every identity of the process, and the most at once. */
export const memoryRuns = { running: 0, most: 0 };

export class MemoryExecutor implements TaskExecutor {
  constructor(
    private readonly journal: RunJournal,
    private readonly emit: (event: JournalEvent) => void,
    private readonly nowMs: () => number,
    /** How long each run lasts (0: it ends at once); a paced run's bound shows in `memoryRuns.most`. */
    private readonly holdMs = 0,
  ) {}

  get activeCount(): number {
    return 0;
  }

  busy(): boolean {
    return false;
  }

  submit(task: TaskSpec): void {
    const job: Job = { task, invokeId: task.invokeId, execution: task.execution ?? 0 };
    const accepted = this.journal.accept(task, job, this.nowMs());
    if (!accepted) return;
    this.emit(accepted);
    void this.enqueue(job);
  }

  enqueue(job: Job): Promise<FinishedStatus> {
    const record = (event: Parameters<RunJournal['record']>[1]) =>
      this.emit(this.journal.record(job, event, this.nowMs()));
    record({ kind: 'started', atMs: this.nowMs() });
    memoryRuns.running++;
    memoryRuns.most = Math.max(memoryRuns.most, memoryRuns.running);
    const finish = (): FinishedStatus => {
      memoryRuns.running--;
      record({ kind: 'output', offset: 0, data: Buffer.from(memoryOutput(job.task)).toString('base64') });
      record({
        kind: 'finished',
        atMs: this.nowMs(),
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
      });
      return 'Success';
    };
    if (this.holdMs === 0) return Promise.resolve(finish());
    return new Promise((resolve) => setTimeout(() => resolve(finish()), this.holdMs));
  }

  cancel(): void {
    // A run answered from memory has ended before a cancellation can reach it.
  }

  stopAll(): Promise<void> {
    return Promise.resolve();
  }
}
