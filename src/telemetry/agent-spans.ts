import { type Attributes, type HrTime, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { AgentSpan, FinishedStatus } from '../protocol/messages.js';
import { isSpanId, isTraceId } from '../protocol/trace-context.js';

// The spans an agent sends on a finished event (docs/tracing.md), checked and made exportable.
// The message schema bounds their number and sizes; here an agent is held to the trace the server
// sent it for that run, so it can add spans to its own run's trace and to no other.

/** The spans kept, and why the others were refused. */
export interface CheckedSpans {
  readonly accepted: readonly AgentSpan[];
  readonly refused: readonly { readonly spanId: string; readonly reason: string }[];
}

/** The refusal of every span of a run this node sent no trace for: not the agent's fault (docs/tracing.md). */
export const noTraceSent = 'no trace was sent for this run here';

const toBigInt = (unixNano: string): bigint => BigInt(unixNano);

/** Why one span is refused, given the trace sent for its run and the span ids seen before it. */
function refusal(span: AgentSpan, sentTraceId: string, seen: ReadonlySet<string>): string | undefined {
  if (span.traceId !== sentTraceId) return 'not the trace sent for this run';
  if (!isTraceId(span.traceId) || !isSpanId(span.spanId) || !isSpanId(span.parentSpanId))
    return 'an id of zeros';
  if (seen.has(span.spanId)) return 'a span id used twice';
  if (toBigInt(span.endTimeUnixNano) < toBigInt(span.startTimeUnixNano)) return 'ends before it starts';
  return undefined;
}

/**
 * Keeps the spans that belong to `sentTraceId`, the trace of the `traceparent` this node sent
 * for the run (undefined: it sent none, or has forgotten it: every span is refused).
 */
export function checkAgentSpans(spans: readonly AgentSpan[], sentTraceId: string | undefined): CheckedSpans {
  if (sentTraceId === undefined) {
    return {
      accepted: [],
      refused: spans.map((span) => ({ spanId: span.spanId, reason: noTraceSent })),
    };
  }
  const accepted: AgentSpan[] = [];
  const refused: { spanId: string; reason: string }[] = [];
  const seen = new Set<string>();
  for (const span of spans) {
    const reason = refusal(span, sentTraceId, seen);
    seen.add(span.spanId);
    if (reason) refused.push({ spanId: span.spanId, reason });
    else accepted.push(span);
  }
  return { accepted, refused };
}

const billion = 1_000_000_000n;
const hrTime = (unixNano: bigint): HrTime => [Number(unixNano / billion), Number(unixNano % billion)];

/** What the server knows of the run itself: the instance from the authenticated channel, the status reported. */
export interface AgentRun {
  readonly instanceId: string;
  readonly status: FinishedStatus;
}

/**
 * Accepted spans as the SDK's ReadableSpan, with the agent's own resource (`openassist-agent`,
 * its instance id from the channel, never from the agent's words). The span whose parent is not
 * among them (the agent's `agent.run`, a child of the server's `dispatch`) is CONSUMER kind and
 * carries the run's status; the rest are INTERNAL.
 */
export function toReadableSpans(spans: readonly AgentSpan[], run: AgentRun): ReadableSpan[] {
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'openassist-agent',
    'openassist.instance_id': run.instanceId,
  });
  const ids = new Set(spans.map((span) => span.spanId));
  return spans.map((span): ReadableSpan => {
    const start = toBigInt(span.startTimeUnixNano);
    const end = toBigInt(span.endTimeUnixNano);
    const entry = !ids.has(span.parentSpanId);
    const attributes: Attributes = {};
    for (const { key, value } of span.attributes) attributes[key] = value;
    const failedRun = entry && run.status !== 'Success';
    return {
      name: span.name,
      kind: entry ? SpanKind.CONSUMER : SpanKind.INTERNAL,
      spanContext: () => ({ traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED }),
      parentSpanContext: {
        traceId: span.traceId,
        spanId: span.parentSpanId,
        traceFlags: TraceFlags.SAMPLED,
        isRemote: entry,
      },
      startTime: hrTime(start),
      endTime: hrTime(end),
      duration: hrTime(end - start),
      status: failedRun
        ? { code: SpanStatusCode.ERROR, message: run.status }
        : { code: SpanStatusCode.UNSET },
      attributes,
      links: [],
      events: [],
      ended: true,
      resource,
      instrumentationScope: { name: 'openassist-agent' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
  });
}
