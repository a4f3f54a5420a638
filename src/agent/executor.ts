import { writeFileSync } from 'node:fs';
import { type ContainerSockets, defaultContainerSockets, defaultOutputCapBytes } from '../config.js';
import { executionException, runError } from '../domain/run-errors.js';
import {
  type FinishedStatus,
  maxOutputChunkBytes,
  type TaskEvent,
  type TaskSpec,
} from '../protocol/messages.js';
import { runInContainer } from './containers.js';
import { type FileServer, runFileTask } from './file-task.js';
import { removeLeftover } from './file-writer.js';
import type { Journal, JournalEvent, RunRef } from './journal.js';
import { RunSpans } from './run-spans.js';
import {
  exceptionOutcome,
  exitOutcome,
  type Interpreter,
  type RunHandle,
  runScript,
  type TerminationMode,
} from './runner.js';
import type { WarmShells } from './warm-shells.js';
import { runWindowsScript } from './windows-runner.js';

// How each command type runs on this (Linux) agent. Batch files need Windows; PowerShell runs
// where pwsh is installed (the agent reports it, and the server only sends PowerShell then).
const interpreters: Record<string, Interpreter | undefined | 'not-applicable'> = {
  RunShellScript: undefined,
  RunPowerShellScript: {
    command: 'pwsh',
    args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File'],
    extension: 'ps1',
  },
  RunBatScript: 'not-applicable',
};

export interface ExecutorOptions {
  /** The agent's journal, or the load generator's in-memory one (src/agent/load/). */
  readonly journal: Pick<Journal, 'acceptThen' | 'record' | 'setProcess' | 'unfinished'>;
  /** Hands a journalled event to the channel (sent now if connected, else on reconnect). */
  readonly emit: (event: JournalEvent) => void;
  readonly workDir: string;
  readonly nowMs: () => number;
  /** Tasks run at once; the rest wait in a bounded queue. */
  readonly maxConcurrent?: number;
  readonly maxQueued?: number;
  /** Output beyond this is counted as dropped, not sent (OPENASSIST_AGENT_OUTPUT_CAP_BYTES). */
  readonly outputCapBytes?: number;
  readonly killGraceMs?: number;
  /** This boot's id: a recorded process group is only ours to kill within the same boot. */
  readonly bootId?: string;
  /** Where the agent runs: Windows uses its own runner (cmd, PowerShell, run-as). */
  readonly platform?: NodeJS.Platform;
  readonly systemRoot?: string;
  /** Where the container runtimes' APIs listen. */
  readonly containerSockets?: ContainerSockets;
  /** Moves a script's shell, before its go, out of the agent's capped cgroup (resource-caps.ts). */
  readonly placeRun?: (pid: number) => void;
  /** Test-only: a run's go is held for good once on the journal's disk; this file says so (config.ts). */
  readonly goPauseMarker?: string | undefined;
  /** Test-only: file tasks pause half-written once this file exists (see file-task.ts). */
  readonly filePauseMarker?: string | undefined;
  /** Where files sent as uploads are downloaded from (file-task.ts). */
  readonly fileServer?: FileServer;
  /**
   * This agent's instance: it names the temporary file of a file task, so two agents placing the
   * same send into one directory (one host, a shared mount) never write into each other's.
   */
  readonly instanceId?: string;
  /** Shells started ahead for runs as the agent's own user in its home (warm-shells.ts); closed by stopAll. */
  readonly warmShells?: WarmShells;
}

// Output is coalesced for this long before a chunk goes out, so a chatty script sends few messages.
const outputFlushMs = 50;

/** One task's output stream: coalesced into chunks with byte offsets, capped. */
class OutputStream {
  offset = 0;
  dropped = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly capBytes: number,
    private readonly send: (offset: number, data: Buffer) => void,
  ) {}

  write(chunk: Buffer): void {
    const room = Math.max(0, this.capBytes - this.offset - this.pendingBytes);
    if (chunk.length > room) this.dropped += chunk.length - room;
    const kept = chunk.subarray(0, room);
    if (kept.length === 0) return;
    this.pending.push(kept);
    this.pendingBytes += kept.length;
    if (this.pendingBytes >= maxOutputChunkBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), outputFlushMs);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const data = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    for (let at = 0; at < data.length; at += maxOutputChunkBytes) {
      const part = data.subarray(at, at + maxOutputChunkBytes);
      this.send(this.offset, part);
      this.offset += part.length;
    }
  }
}

/** One run to execute: a task's only run (execution 0) or run n of a schedule or EveryReboot task. */
export interface Job extends RunRef {
  readonly task: TaskSpec;
  /** Its script may start once this resolves (the run is on the journal's disk); at once without. */
  readonly ready?: Promise<void>;
}

/** A run whose runner starts once `ready` resolves; stopped before, it ends Terminated, never started. */
function whenReady(ready: Promise<void> | undefined, start: () => RunHandle): RunHandle {
  if (!ready) return start();
  let handle: RunHandle | undefined;
  let stopped = false;
  const done = ready.then(() => {
    if (stopped) return exitOutcome('stop-tree', null);
    handle = start();
    return handle.done;
  }, exceptionOutcome);
  return {
    done,
    stop: (mode) => {
      stopped = true;
      handle?.stop(mode);
    },
  };
}

/** Says so in `marker`, then never resolves (OPENASSIST_TEST_RUN_GO_PAUSE). */
function holdForGood(marker: string): Promise<void> {
  writeFileSync(marker, '');
  return new Promise(() => undefined);
}

const keyOf = (run: RunRef): string => `${run.invokeId}#${run.execution}`;

/** What names a run's own files (script, temporary file): the invoke id, and the execution when not 0. */
const runIdOf = (run: RunRef): string =>
  run.execution === 0 ? run.invokeId : `${run.invokeId}-${run.execution}`;

/** Runs accepted tasks with the runner, at most N at once, journalling every event before it is sent. */
export class Executor {
  private readonly running = new Map<string, { job: Job; handle: RunHandle | undefined }>();
  private readonly queue: Job[] = [];
  /** Who waits for a run's end (a schedule does, to hand its status on). */
  private readonly waiters = new Map<string, (status: FinishedStatus) => void>();
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly capBytes: number;
  /** Events sent without a journal entry so far (their ids must not collide with the journal's). */
  private unjournalled = 0;
  /** The spans of traced runs not ended yet (docs/tracing.md): they go out on the finished event. */
  private readonly traced = new Map<string, RunSpans>();

  constructor(private readonly options: ExecutorOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 10;
    this.maxQueued = options.maxQueued ?? 1000;
    this.capBytes = options.outputCapBytes ?? defaultOutputCapBytes;
  }

  /** A file task's run id, with the instance's: its temporary file's name (file-writer.ts). */
  private fileRunId(run: RunRef): string {
    const runId = runIdOf(run);
    return this.options.instanceId ? `${runId}-${this.options.instanceId}` : runId;
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** Nothing running and nothing queued: the agent may restart without cutting a task short. */
  get idle(): boolean {
    return this.running.size === 0 && this.queue.length === 0;
  }

  /** True while a run of the invocation is queued or running. */
  busy(invokeId: string): boolean {
    return (
      this.queue.some((job) => job.invokeId === invokeId) ||
      [...this.running.values()].some(({ job }) => job.invokeId === invokeId)
    );
  }

  /**
   * Journals an event and hands it on. One the journal cannot take (its disk is full) still goes,
   * unjournalled: sent now if connected, never re-sent, as reporting beats keeping silent.
   */
  private record(run: RunRef, event: TaskEvent): void {
    let journalled: JournalEvent;
    try {
      journalled = this.options.journal.record(run, event, this.options.nowMs());
    } catch {
      journalled = { ...run, eventId: `unjournalled-${++this.unjournalled}`, event };
    }
    this.options.emit(journalled);
  }

  /** A run's end; one that never started (queue full, cancelled) still goes out after its `accepted`. */
  private finish(
    run: RunRef & Pick<Job, 'ready'>,
    status: FinishedStatus,
    fields: Partial<Extract<TaskEvent, { kind: 'finished' }>>,
  ): void {
    const key = keyOf(run);
    const exitCode = fields.exitCode ?? null;
    const errorCode = fields.errorCode ?? '';
    const spans = this.traced.get(key)?.finish({ status, exitCode, errorCode });
    this.traced.delete(key);
    const finished: TaskEvent = {
      kind: 'finished',
      atMs: this.options.nowMs(),
      status,
      exitCode,
      errorCode,
      errorInfo: fields.errorInfo ?? '',
      droppedBytes: fields.droppedBytes ?? 0,
      ...(fields.outputBytes !== undefined && { outputBytes: fields.outputBytes }),
      ...(spans && { spans }),
    };
    const record = () => this.record({ invokeId: run.invokeId, execution: run.execution }, finished);
    if (run.ready) run.ready.then(record, record);
    else record();
    this.waiters.get(key)?.(status);
    this.waiters.delete(key);
  }

  /**
   * Runs the journal shows as accepted or running when the agent stopped: they may have run, so
   * they are never started again; they end as interrupted instead.
   */
  recoverInterrupted(): number {
    const unfinished = this.options.journal.unfinished();
    for (const { task, execution, pid, bootId } of unfinished) {
      // Its script may still run, orphaned by the agent's crash: end it, as the report will say.
      // pid > 1: kill(-0) would signal the agent's own group, kill(-1) every process there is.
      if (pid !== undefined && pid > 1 && bootId === (this.options.bootId ?? '')) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // A file being placed was never moved into place half-written: only its temporary file can be left.
      const leftover =
        task.file &&
        removeLeftover(task.file.targetDir, this.fileRunId({ invokeId: task.invokeId, execution }));
      this.finish({ invokeId: task.invokeId, execution }, 'Error', {
        ...runError(
          'ExecutionInterrupted',
          task.file
            ? `the agent stopped while placing the file; the target holds what it held before or the whole new file, never part of one${leftover ? ' (the partial temporary file was removed)' : ''}`
            : undefined,
        ),
      });
    }
    return unfinished.length;
  }

  /**
   * A run from the server: accepted once (the journal remembers), then queued or started. Its
   * process starts while the journal syncs; its script, and the `accepted` event, wait for the disk.
   */
  submit(task: TaskSpec): void {
    const run: RunRef = { invokeId: task.invokeId, execution: task.execution ?? 0 };
    const cannotRecord = (error: unknown) =>
      new Error(
        `the agent cannot record the task in its journal (${error instanceof Error ? error.message : String(error)})`,
      );
    // Timed from its arrival: the journal's sync and the queue are part of the run's wait.
    // A task sent again while held keeps the record of its first arrival.
    const spans = this.traced.has(keyOf(run)) ? undefined : RunSpans.begin(task);
    if (spans) this.traced.set(keyOf(run), spans);
    let accepting: ReturnType<Journal['acceptThen']>;
    try {
      accepting = this.options.journal.acceptThen(task, run, this.options.nowMs());
    } catch (error) {
      // Only a journalled run is sure to run at most once: this one does not start, and says why.
      this.finish(run, 'Error', executionException(cannotRecord(error)));
      return;
    }
    if (!accepting) {
      if (spans) this.traced.delete(keyOf(run));
      return;
    }
    const { accepted, durable } = accepting;
    const ready = durable.then(
      () => this.options.emit(accepted),
      (error: unknown) => {
        throw cannotRecord(error);
      },
    );
    const marker = this.options.goPauseMarker;
    const held = marker === undefined ? ready : ready.then(() => holdForGood(marker));
    ready.catch(() => undefined); // handled where it is awaited; a run dropped at shutdown never is
    void this.enqueue({ ...run, task, ready: held });
  }

  /** Queues a run already accepted in the journal; resolves with its final status. */
  enqueue(job: Job): Promise<FinishedStatus> {
    const done = new Promise<FinishedStatus>((resolve) => this.waiters.set(keyOf(job), resolve));
    if (this.queue.length >= this.maxQueued) {
      this.finish(job, 'Error', runError('ExecutionException', 'the agent task queue is full'));
      return done;
    }
    this.queue.push(job);
    this.pump();
    return done;
  }

  /** Stops every run of the invocation: queued ones end Terminated, running ones are stopped. */
  cancel(invokeId: string, mode: TerminationMode): void {
    for (const job of this.queue.filter((queued) => queued.invokeId === invokeId)) {
      this.queue.splice(this.queue.indexOf(job), 1);
      this.finish(job, 'Terminated', {});
    }
    for (const { job, handle } of this.running.values()) {
      if (job.invokeId === invokeId) handle?.stop(mode);
    }
  }

  private pump(): void {
    while (this.running.size < this.maxConcurrent && this.queue.length > 0) {
      const job = this.queue.shift();
      if (job) this.start(job);
    }
  }

  private start(job: Job): void {
    const { task } = job;
    const key = keyOf(job);
    const interpreter = interpreters[task.commandType];
    const onWindows = (this.options.platform ?? process.platform) === 'win32';
    if (interpreter === 'not-applicable' && !onWindows) {
      this.finish(job, 'Failed', runError('CommandNotApplicable'));
      this.pump();
      return;
    }
    const output = new OutputStream(this.capBytes, (offset, data) =>
      this.record(job, { kind: 'output', offset, data: data.toString('base64') }),
    );
    this.running.set(key, { job, handle: undefined });
    const events = {
      onStart: (pid: number | undefined) => {
        // The script may already be running: its start is timed before the journal's write.
        const atMs = this.options.nowMs();
        this.traced.get(key)?.started();
        if (pid !== undefined) this.options.journal.setProcess(job, pid, this.options.bootId ?? '');
        this.record(job, { kind: 'started', atMs });
      },
      onOutput: (chunk: Buffer) => output.write(chunk),
    };
    // Each run gets a script file of its own (runs of one schedule may overlap with their cleanup).
    const runId = runIdOf(job);
    const { container, file } = task;
    const handle = file
      ? whenReady(job.ready, () =>
          runFileTask(
            file,
            {
              runId: this.fileRunId(job),
              timeoutSeconds: task.timeoutSeconds,
              pauseMarker: this.options.filePauseMarker,
              server: this.options.fileServer,
              ...(this.options.platform !== undefined && { platform: this.options.platform }),
            },
            events,
          ),
        )
      : container
        ? whenReady(job.ready, () =>
            runInContainer(
              container,
              runId,
              {
                ...task,
                ...(this.options.killGraceMs !== undefined && { killGraceMs: this.options.killGraceMs }),
              },
              this.options.containerSockets ?? defaultContainerSockets,
              events,
            ),
          )
        : onWindows
          ? whenReady(job.ready, () =>
              runWindowsScript(
                { ...task, invokeId: runId, password: task.password },
                this.options.workDir,
                this.options.systemRoot ?? 'C:\\Windows',
                events,
              ),
            )
          : runScript(
              {
                invokeId: runId,
                script: task.script,
                username: task.username,
                workingDir: task.workingDir || undefined,
                timeoutSeconds: task.timeoutSeconds,
                workDir: this.options.workDir,
                interpreter: interpreter === 'not-applicable' ? undefined : interpreter,
                ready: job.ready,
                beforeStart: this.options.placeRun,
                warmShells: this.options.warmShells,
                ...(this.options.killGraceMs !== undefined && { killGraceMs: this.options.killGraceMs }),
              },
              events,
            );
    this.running.set(key, { job, handle });
    handle.done
      .then((outcome) => {
        output.flush();
        this.running.delete(key);
        this.finish(job, outcome.status, {
          ...outcome,
          droppedBytes: output.dropped,
          outputBytes: output.offset,
        });
      })
      .catch((error: unknown) => {
        this.running.delete(key);
        this.finish(job, 'Error', executionException(error));
      })
      .finally(() => this.pump());
  }

  /** Stops every running task (agent shutdown): they end Terminated. */
  stopAll(): Promise<void> {
    this.queue.length = 0;
    this.options.warmShells?.close();
    const handles = [...this.running.values()]
      .map(({ handle }) => handle)
      .filter((handle): handle is RunHandle => handle !== undefined);
    for (const handle of handles) handle.stop('ProcessTree');
    return Promise.all(handles.map((handle) => handle.done)).then(() => undefined);
  }
}
