// W3C Trace Context (https://www.w3.org/TR/trace-context/): the `traceparent` a task carries to
// the agent and an API request may carry in, and the ids of the spans an agent sends back
// (docs/tracing.md). Shared by both sides, so it holds no OpenTelemetry code: the agent ships
// without the SDK.

/** A span's place in a trace, as `traceparent` writes it. */
export interface TraceParent {
  /** 32 lower-case hex characters, not all zero. */
  readonly traceId: string;
  /** 16 lower-case hex characters, not all zero: the parent span. */
  readonly spanId: string;
  /** Whether the sender records the trace (flag 01): the agent records spans only then. */
  readonly sampled: boolean;
}

const traceIdPattern = /^[0-9a-f]{32}$/;
const spanIdPattern = /^[0-9a-f]{16}$/;
const allZero = /^0+$/;

export const isTraceId = (text: string): boolean => traceIdPattern.test(text) && !allZero.test(text);
export const isSpanId = (text: string): boolean => spanIdPattern.test(text) && !allZero.test(text);

// version-traceid-parentid-flags; a later version may append fields after a '-' (the spec's rule).
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
/** Longer than any traceparent a peer has a reason to send: the rest is not read. */
export const maxTraceparentChars = 512;

/**
 * Reads a `traceparent`; undefined for anything the spec says to ignore: another shape, version
 * ff, version 00 with extra fields, ids of zeros, upper-case hex.
 */
export function parseTraceparent(text: string | undefined): TraceParent | undefined {
  if (text === undefined || text.length > maxTraceparentChars) return undefined;
  const match = traceparentPattern.exec(text.trim());
  if (!match) return undefined;
  const [, version = '', traceId = '', spanId = '', flags = '', rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (!isTraceId(traceId) || !isSpanId(spanId)) return undefined;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** Writes version 00 of a `traceparent`. */
export function formatTraceparent(parent: TraceParent): string {
  return `00-${parent.traceId}-${parent.spanId}-${parent.sampled ? '01' : '00'}`;
}
