import { instanceStatuses, isFinal } from '../domain/invocation-status.js';

/** A status event of the live-output stream (docs/streaming.md). */
export interface StatusEvent {
  InstanceId: string;
  Execution?: number;
  InvocationStatus: string;
  ExitCode?: number;
  ErrorCode?: string;
  ErrorInfo?: string;
}

/** An output event: bytes of one run at an offset, base64. */
export interface OutputEvent {
  InstanceId: string;
  Execution?: number;
  Offset: number;
  Output: string;
}

export interface RunRow {
  readonly instanceId: string;
  status: string;
  exitCode?: number | undefined;
  errorCode?: string | undefined;
  errorInfo?: string | undefined;
  /** Everything received, decoded (kept for --json). */
  output: string;
}

/** A line of output ready to print, with the instance it came from. */
export interface OutputLine {
  readonly instanceId: string;
  readonly text: string;
}

const finalStatuses: ReadonlySet<string> = new Set(instanceStatuses.filter(isFinal));

export const isFinalStatus = (status: string): boolean => finalStatuses.has(status);

/**
 * What a follower knows of one invocation: each instance's status and output. Pure: events in,
 * whole lines out (a partial line waits for its end or for the run to end), UTF-8 split across
 * chunks decoded correctly.
 */
export class InvocationView {
  private readonly runs = new Map<string, RunRow>();
  private readonly decoders = new Map<string, InstanceType<typeof TextDecoder>>();
  private readonly partial = new Map<string, string>();

  constructor(instanceIds: readonly string[] = []) {
    for (const id of instanceIds) this.row(id);
  }

  rows(): RunRow[] {
    return [...this.runs.values()];
  }

  get total(): number {
    return this.runs.size;
  }

  get done(): number {
    return this.rows().filter((run) => isFinalStatus(run.status)).length;
  }

  get allDone(): boolean {
    return this.total > 0 && this.done === this.total;
  }

  get allSucceeded(): boolean {
    return this.total > 0 && this.rows().every((run) => run.status === 'Success');
  }

  /** Applies a status; when the run is final, its last partial line is released. */
  status(event: StatusEvent): OutputLine[] {
    const run = this.row(event.InstanceId);
    run.status = event.InvocationStatus;
    run.exitCode = event.ExitCode;
    run.errorCode = event.ErrorCode || undefined;
    run.errorInfo = event.ErrorInfo || undefined;
    if (!isFinalStatus(run.status)) return [];
    const rest =
      (this.partial.get(run.instanceId) ?? '') + (this.decoders.get(run.instanceId)?.decode() ?? '');
    this.partial.delete(run.instanceId);
    return rest ? [{ instanceId: run.instanceId, text: rest }] : [];
  }

  /** Applies output bytes; returns the lines it completes. */
  output(event: OutputEvent): OutputLine[] {
    const run = this.row(event.InstanceId);
    let decoder = this.decoders.get(run.instanceId);
    if (!decoder) {
      decoder = new TextDecoder('utf-8');
      this.decoders.set(run.instanceId, decoder);
    }
    const text = decoder.decode(base64Bytes(event.Output), { stream: true });
    run.output += text;
    const pending = (this.partial.get(run.instanceId) ?? '') + text;
    const lastBreak = pending.lastIndexOf('\n');
    this.partial.set(run.instanceId, pending.slice(lastBreak + 1));
    if (lastBreak < 0) return [];
    return pending
      .slice(0, lastBreak)
      .split('\n')
      .map((line) => ({ instanceId: run.instanceId, text: line }));
  }

  private row(instanceId: string): RunRow {
    let run = this.runs.get(instanceId);
    if (!run) {
      run = { instanceId, status: 'Pending', output: '' };
      this.runs.set(instanceId, run);
    }
    return run;
  }
}

function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}
