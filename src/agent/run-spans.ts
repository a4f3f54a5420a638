import { randomBytes } from 'node:crypto';
import type { AgentSpan, FinishedStatus, TaskSpec } from '../protocol/messages.js';
import { parseTraceparent, type TraceParent } from '../protocol/trace-context.js';

// The agent's side of tracing (docs/tracing.md): plain records of when a run was received, when
// its script started and when it ended, sent back on the finished event. No OpenTelemetry SDK:
// the agent ships as one small executable; the server checks the spans and exports them.

/** Where span times come from: the wall clock anchors a span, the monotonic one measures it. */
export interface SpanClock {
  readonly wallMs: () => number;
  readonly monotonicMs: () => number;
}

export const systemSpanClock: SpanClock = { wallMs: Date.now, monotonicMs: () => performance.now() };

const newSpanId = (): string => {
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (id !== '0000000000000000') return id;
  }
};

/** The run's outcome as the finished event reports it. */
export interface RunOutcome {
  readonly status: FinishedStatus;
  readonly exitCode: number | null;
  readonly errorCode: string;
}

/**
 * One traced run: `agent.run` from the task's arrival to its end (its parent is the server's
 * `dispatch` span), and `agent.script` inside it from the script's start, when it started.
 * Times are unix nanoseconds: the wall clock at the arrival plus the monotonic time since, so a
 * clock step during the run does not bend the span.
 */
export class RunSpans {
  private readonly runSpanId = newSpanId();
  private readonly receivedWallMs: number;
  private readonly receivedMonotonicMs: number;
  private startedMonotonicMs: number | undefined;

  private constructor(
    private readonly parent: TraceParent,
    private readonly run: { readonly invokeId: string; readonly execution: number },
    private readonly clock: SpanClock,
  ) {
    this.receivedWallMs = clock.wallMs();
    this.receivedMonotonicMs = clock.monotonicMs();
  }

  /** Starts the record of a task the server traces (a valid, sampled `traceparent`); else undefined. */
  static begin(task: TaskSpec, clock: SpanClock = systemSpanClock): RunSpans | undefined {
    const parent = parseTraceparent(task.traceparent);
    if (!parent?.sampled) return undefined;
    return new RunSpans(parent, { invokeId: task.invokeId, execution: task.execution ?? 0 }, clock);
  }

  /** The script's process started. */
  started(): void {
    this.startedMonotonicMs ??= this.clock.monotonicMs();
  }

  /** The spans of the ended run, for its finished event. */
  finish(outcome: RunOutcome): AgentSpan[] {
    const endNano = this.unixNano(this.clock.monotonicMs());
    const attributes: AgentSpan['attributes'] = [
      { key: 'openassist.invoke_id', value: this.run.invokeId },
      { key: 'openassist.execution', value: this.run.execution },
      { key: 'openassist.run.status', value: outcome.status },
      ...(outcome.exitCode === null ? [] : [{ key: 'openassist.run.exit_code', value: outcome.exitCode }]),
      ...(outcome.errorCode ? [{ key: 'openassist.run.error_code', value: outcome.errorCode }] : []),
    ];
    const spans: AgentSpan[] = [
      {
        traceId: this.parent.traceId,
        spanId: this.runSpanId,
        parentSpanId: this.parent.spanId,
        name: 'agent.run',
        startTimeUnixNano: this.unixNano(this.receivedMonotonicMs),
        endTimeUnixNano: endNano,
        attributes,
      },
    ];
    if (this.startedMonotonicMs !== undefined) {
      spans.push({
        traceId: this.parent.traceId,
        spanId: newSpanId(),
        parentSpanId: this.runSpanId,
        name: 'agent.script',
        startTimeUnixNano: this.unixNano(this.startedMonotonicMs),
        endTimeUnixNano: endNano,
        attributes: [],
      });
    }
    return spans;
  }

  private unixNano(monotonicMs: number): string {
    const sinceMicros = Math.max(0, Math.round((monotonicMs - this.receivedMonotonicMs) * 1000));
    const micros = BigInt(Math.round(this.receivedWallMs * 1000)) + BigInt(sinceMicros);
    return (micros * 1000n).toString();
  }
}
