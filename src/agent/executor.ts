import {
  type FinishedStatus,
  maxOutputChunkBytes,
  type TaskEvent,
  type TaskSpec,
} from '../protocol/messages.js';
import type { Journal, JournalEvent } from './journal.js';
import { type Interpreter, type RunHandle, runScript, type TerminationMode } from './runner.js';
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
  readonly journal: Journal;
  /** Hands a journalled event to the channel (sent now if connected, else on reconnect). */
  readonly emit: (event: JournalEvent) => void;
  readonly workDir: string;
  readonly nowMs: () => number;
  /** Tasks run at once; the rest wait in a bounded queue. */
  readonly maxConcurrent?: number;
  readonly maxQueued?: number;
  /** Output beyond this is counted as dropped, not sent (DESIGN §4: 16 MiB). */
  readonly outputCapBytes?: number;
  readonly killGraceMs?: number;
  /** This boot's id: a recorded process group is only ours to kill within the same boot. */
  readonly bootId?: string;
  /** Where the agent runs: Windows uses its own runner (cmd, PowerShell, run-as). */
  readonly platform?: NodeJS.Platform;
  readonly systemRoot?: string;
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

/** Runs accepted tasks with the runner, at most N at once, journalling every event before it is sent. */
export class Executor {
  private readonly running = new Map<string, RunHandle | undefined>();
  private readonly queue: TaskSpec[] = [];
  private readonly maxConcurrent: number;
  private readonly maxQueued: number;
  private readonly capBytes: number;

  constructor(private readonly options: ExecutorOptions) {
    this.maxConcurrent = options.maxConcurrent ?? 10;
    this.maxQueued = options.maxQueued ?? 1000;
    this.capBytes = options.outputCapBytes ?? 16 * 1024 * 1024;
  }

  get activeCount(): number {
    return this.running.size;
  }

  private record(invokeId: string, event: TaskEvent): void {
    this.options.emit(this.options.journal.record(invokeId, event, this.options.nowMs()));
  }

  private finish(
    invokeId: string,
    status: FinishedStatus,
    fields: Partial<Extract<TaskEvent, { kind: 'finished' }>>,
  ): void {
    this.record(invokeId, {
      kind: 'finished',
      atMs: this.options.nowMs(),
      status,
      exitCode: fields.exitCode ?? null,
      errorCode: fields.errorCode ?? '',
      errorInfo: fields.errorInfo ?? '',
      droppedBytes: fields.droppedBytes ?? 0,
    });
  }

  /**
   * Tasks the journal shows as accepted or running when the agent stopped: they may have run, so
   * they are never started again; they end as interrupted instead.
   */
  recoverInterrupted(): number {
    const unfinished = this.options.journal.unfinished();
    for (const { task, pid, bootId } of unfinished) {
      // Its script may still run, orphaned by the agent's crash: end it, as the report will say.
      if (pid !== undefined && bootId === (this.options.bootId ?? '')) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      this.finish(task.invokeId, 'Error', {
        errorCode: 'ExecutionInterrupted',
        errorInfo: 'the command execution has been interrupted',
      });
    }
    return unfinished.length;
  }

  /** A task from the server: accepted once (the journal remembers), then queued or started. */
  submit(task: TaskSpec): void {
    const accepted = this.options.journal.accept(task, this.options.nowMs());
    if (!accepted) return;
    this.options.emit(accepted);
    if (this.queue.length >= this.maxQueued) {
      this.finish(task.invokeId, 'Error', {
        errorCode: 'ExecutionException',
        errorInfo: 'the command execution got an exception: the agent task queue is full',
      });
      return;
    }
    this.queue.push(task);
    this.pump();
  }

  cancel(invokeId: string, mode: TerminationMode): void {
    const queued = this.queue.findIndex((task) => task.invokeId === invokeId);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(invokeId, 'Terminated', {});
      return;
    }
    this.running.get(invokeId)?.stop(mode);
  }

  private pump(): void {
    while (this.running.size < this.maxConcurrent && this.queue.length > 0) {
      const task = this.queue.shift();
      if (task) this.start(task);
    }
  }

  private start(task: TaskSpec): void {
    const interpreter = interpreters[task.commandType];
    const onWindows = (this.options.platform ?? process.platform) === 'win32';
    if (interpreter === 'not-applicable' && !onWindows) {
      this.finish(task.invokeId, 'Failed', {
        errorCode: 'CommandNotApplicable',
        errorInfo: 'the command is not applicable',
      });
      this.pump();
      return;
    }
    const output = new OutputStream(this.capBytes, (offset, data) =>
      this.record(task.invokeId, { kind: 'output', offset, data: data.toString('base64') }),
    );
    this.running.set(task.invokeId, undefined);
    const events = {
      onStart: (pid: number) => {
        this.options.journal.setProcess(task.invokeId, pid, this.options.bootId ?? '');
        this.record(task.invokeId, { kind: 'started', atMs: this.options.nowMs() });
      },
      onOutput: (chunk: Buffer) => output.write(chunk),
    };
    const handle = onWindows
      ? runWindowsScript(
          { ...task, password: task.password },
          this.options.workDir,
          this.options.systemRoot ?? 'C:\\Windows',
          events,
        )
      : runScript(
          {
            invokeId: task.invokeId,
            script: task.script,
            username: task.username,
            workingDir: task.workingDir || undefined,
            timeoutSeconds: task.timeoutSeconds,
            workDir: this.options.workDir,
            interpreter: interpreter === 'not-applicable' ? undefined : interpreter,
            ...(this.options.killGraceMs !== undefined && { killGraceMs: this.options.killGraceMs }),
          },
          events,
        );
    this.running.set(task.invokeId, handle);
    handle.done
      .then((outcome) => {
        output.flush();
        this.finish(task.invokeId, outcome.status, { ...outcome, droppedBytes: output.dropped });
      })
      .catch((error: unknown) => {
        this.finish(task.invokeId, 'Error', {
          errorCode: 'ExecutionException',
          errorInfo: `the command execution got an exception: ${String(error)}`,
        });
      })
      .finally(() => {
        this.running.delete(task.invokeId);
        this.pump();
      });
  }

  /** Stops every running task (agent shutdown): they end Terminated. */
  stopAll(): Promise<void> {
    this.queue.length = 0;
    const handles = [...this.running.values()].filter((handle): handle is RunHandle => handle !== undefined);
    for (const handle of handles) handle.stop('ProcessTree');
    return Promise.all(handles.map((handle) => handle.done)).then(() => undefined);
  }
}
