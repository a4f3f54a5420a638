import { type Context, ROOT_CONTEXT, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
import type { AgentSpan, FinishedStatus, TaskSpec } from '../protocol/messages.js';
import { formatTraceparent, parseTraceparent } from '../protocol/trace-context.js';
import { type CheckedSpans, checkAgentSpans, toReadableSpans } from './agent-spans.js';
import type { Tracing } from './tracing.js';

// What a node remembers to carry an invocation's trace to its agents and back (docs/tracing.md):
// in memory only (no migration), bounded, and lost on a restart. Another node learns an
// invocation's trace from the wake-up it is sent; a delivery after that is forgotten starts no
// `dispatch` span, and an agent's spans reported to a node that did not send the run's task are
// refused.

/** Invocations and runs remembered at most; the oldest go first. */
const maxRemembered = 10_000;
/** An invocation's trace is joined by deliveries up to this long after the request (a reboot task days later is not). */
const parentMaxAgeMs = 10 * 60_000;
/** A run's sent trace waits this long for the agent's spans (the longest run, 24 hours, and some). */
const sentMaxAgeMs = 25 * 3_600_000;

/** A Map with a bound on entries and on age; the oldest entry makes room. */
class BoundedMap<V> {
  private readonly entries = new Map<string, { value: V; atMs: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly maxAgeMs: number,
    private readonly nowMs: () => number,
  ) {}

  set(key: string, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, { value, atMs: this.nowMs() });
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (this.nowMs() - entry.atMs <= this.maxAgeMs) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/** One run of one instance. */
export interface TracedRun {
  readonly instanceId: string;
  readonly invokeId: string;
  readonly execution: number;
}

const runKey = (run: TracedRun): string => `${run.instanceId}#${run.invokeId}#${run.execution}`;

/** Adds the `traceparent` of the dispatch span to a task about to be sent (unchanged when not traced). */
export type TraceStamp = (task: TaskSpec) => TaskSpec;
const unstamped: TraceStamp = (task) => task;

export class RunTraces {
  /** Each new invocation's parent: the span of the request that created it. */
  private readonly parents: BoundedMap<Context>;
  /** Each traced run's trace id, as sent to its agent. */
  private readonly sent: BoundedMap<string>;

  constructor(
    private readonly tracing: Tracing,
    nowMs: () => number,
  ) {
    this.parents = new BoundedMap(maxRemembered, parentMaxAgeMs, nowMs);
    this.sent = new BoundedMap(maxRemembered, sentMaxAgeMs, nowMs);
  }

  /**
   * An invocation was created in the caller's span: its deliveries join that trace. Returns the
   * span's `traceparent` for the other nodes (undefined when the caller is not traced).
   */
  remember(invokeId: string): string | undefined {
    const context = this.tracing.activeContext();
    const span = context && trace.getSpanContext(context);
    if (!span || !trace.isSpanContextValid(span)) return undefined;
    // Only the ids are kept, not the request's span with its attributes: 10,000 of them stay small.
    this.parents.set(invokeId, trace.setSpanContext(ROOT_CONTEXT, span));
    return formatTraceparent({
      traceId: span.traceId,
      spanId: span.spanId,
      sampled: (span.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
    });
  }

  /** Another node created the invocation (its wake-up carried the trace): deliveries here join it. */
  adopt(invokeId: string, traceparent: string): void {
    const parent = parseTraceparent(traceparent);
    if (!parent) return;
    this.parents.set(
      invokeId,
      trace.setSpanContext(ROOT_CONTEXT, {
        traceId: parent.traceId,
        spanId: parent.spanId,
        traceFlags: parent.sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
        isRemote: true,
      }),
    );
  }

  /**
   * Sends one run's task inside a `dispatch` span (PRODUCER kind) when its invocation is traced:
   * `send` stamps the task with the span's `traceparent` and the run's trace is remembered, to
   * check the agent's spans against. A Period task is not stamped: its runs come hours later.
   */
  dispatch(run: TracedRun, send: (stamp: TraceStamp) => Promise<void>): Promise<void> {
    const parent = this.parents.get(run.invokeId);
    if (!parent) return send(unstamped);
    const attributes = {
      'openassist.invoke_id': run.invokeId,
      'openassist.instance_id': run.instanceId,
      'openassist.execution': run.execution,
    };
    return this.tracing.inSpan('dispatch', { kind: SpanKind.PRODUCER, parent, attributes }, (span) =>
      send((task) => {
        if (task.schedule || !span.isRecording()) return task;
        const { traceId, spanId } = span.spanContext();
        this.sent.set(runKey(run), traceId);
        return { ...task, traceparent: formatTraceparent({ traceId, spanId, sampled: true }) };
      }),
    );
  }

  /**
   * An agent's spans of one of its runs (the run's finished event, stored): those in the trace
   * sent for that run are exported. The first report of a run is the only one read.
   */
  agentSpans(run: TracedRun, status: FinishedStatus, spans: readonly AgentSpan[]): CheckedSpans {
    const key = runKey(run);
    const sentTraceId = this.sent.get(key);
    const checked = checkAgentSpans(spans, sentTraceId);
    // One report per run: a finished event sent again, or forged again, finds the run forgotten.
    if (sentTraceId !== undefined) this.sent.delete(key);
    if (checked.accepted.length > 0)
      this.tracing.exportEnded(toReadableSpans(checked.accepted, { instanceId: run.instanceId, status }));
    return checked;
  }
}
