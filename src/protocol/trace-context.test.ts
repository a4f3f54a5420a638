import { describe, expect, it } from 'vitest';
import { formatTraceparent, isSpanId, isTraceId, parseTraceparent } from './trace-context.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';

describe('traceparent (W3C Trace Context)', () => {
  it("reads the spec's own example", () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-01`)).toEqual({ traceId, spanId, sampled: true });
    expect(parseTraceparent(`00-${traceId}-${spanId}-00`)).toEqual({ traceId, spanId, sampled: false });
  });

  it('reads the sampled bit among other flags', () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-03`)?.sampled).toBe(true);
    expect(parseTraceparent(`00-${traceId}-${spanId}-02`)?.sampled).toBe(false);
  });

  it('takes a later version with fields appended, never version ff or 00 with extra fields', () => {
    expect(parseTraceparent(`01-${traceId}-${spanId}-01-what-comes`)?.traceId).toBe(traceId);
    expect(parseTraceparent(`ff-${traceId}-${spanId}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${traceId}-${spanId}-01-extra`)).toBeUndefined();
  });

  it('refuses ids of zeros, upper-case hex, wrong lengths and oversized text', () => {
    for (const bad of [
      `00-${'0'.repeat(32)}-${spanId}-01`,
      `00-${traceId}-${'0'.repeat(16)}-01`,
      `00-${traceId.toUpperCase()}-${spanId}-01`,
      `00-${traceId}0-${spanId}-01`,
      `00-${traceId}-${spanId}-1`,
      `00-${traceId}-${spanId}`,
      '',
      `00-${traceId}-${spanId}-01${' '.repeat(600)}`,
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it('writes what it reads', () => {
    const parent = { traceId, spanId, sampled: true };
    expect(parseTraceparent(formatTraceparent(parent))).toEqual(parent);
    expect(formatTraceparent({ ...parent, sampled: false })).toBe(`00-${traceId}-${spanId}-00`);
  });

  it('tells ids apart', () => {
    expect(isTraceId(traceId)).toBe(true);
    expect(isTraceId(spanId)).toBe(false);
    expect(isSpanId(spanId)).toBe(true);
    expect(isSpanId('0000000000000000')).toBe(false);
  });
});
