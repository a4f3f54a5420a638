import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import type { AgentSpan } from '../protocol/messages.js';
import { checkAgentSpans, noTraceSent, toReadableSpans } from './agent-spans.js';

const sentTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const dispatchSpanId = '00f067aa0ba902b7';

const span = (fields: Partial<AgentSpan> = {}): AgentSpan => ({
  traceId: sentTraceId,
  spanId: '1111111111111111',
  parentSpanId: dispatchSpanId,
  name: 'agent.run',
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000300000001',
  attributes: [{ key: 'openassist.run.exit_code', value: 0 }],
  ...fields,
});

describe('checkAgentSpans: an agent adds spans to the trace sent for its run, and to no other', () => {
  it('keeps spans of the sent trace', () => {
    const script = span({
      spanId: '2222222222222222',
      parentSpanId: '1111111111111111',
      name: 'agent.script',
    });
    expect(checkAgentSpans([span(), script], sentTraceId)).toEqual({
      accepted: [span(), script],
      refused: [],
    });
  });

  it('refuses a span of another trace, keeping the rest', () => {
    const forged = span({ spanId: '3333333333333333', traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' });
    expect(checkAgentSpans([span(), forged], sentTraceId)).toEqual({
      accepted: [span()],
      refused: [{ spanId: '3333333333333333', reason: 'not the trace sent for this run' }],
    });
  });

  it('refuses everything for a run it sent no trace for', () => {
    expect(checkAgentSpans([span()], undefined)).toEqual({
      accepted: [],
      refused: [{ spanId: '1111111111111111', reason: noTraceSent }],
    });
  });

  it('refuses ids of zeros, a span id used twice and a span that ends before it starts', () => {
    const checked = checkAgentSpans(
      [
        span(),
        span({ name: 'again' }),
        span({ spanId: '0000000000000000' }),
        span({ spanId: '4444444444444444', parentSpanId: '0000000000000000' }),
        span({ spanId: '5555555555555555', endTimeUnixNano: '1699999999999999999' }),
      ],
      sentTraceId,
    );
    expect(checked.accepted).toEqual([span()]);
    expect(checked.refused.map(({ reason }) => reason)).toEqual([
      'a span id used twice',
      'an id of zeros',
      'an id of zeros',
      'ends before it starts',
    ]);
  });
});

describe('toReadableSpans: the agent spans as the exporter takes them', () => {
  it('gives nanosecond times, the parent chain, the agent resource from the channel, the run status', () => {
    const script = span({
      spanId: '2222222222222222',
      parentSpanId: '1111111111111111',
      name: 'agent.script',
    });
    const [run, inner] = toReadableSpans([span(), script], { instanceId: 'mi-abc', status: 'Failed' });
    expect(run?.startTime).toEqual([1_700_000_000, 0]);
    expect(run?.endTime).toEqual([1_700_000_000, 300_000_001]);
    expect(run?.duration).toEqual([0, 300_000_001]);
    expect(run?.kind).toBe(SpanKind.CONSUMER);
    expect(run?.parentSpanContext).toMatchObject({ spanId: dispatchSpanId, isRemote: true });
    expect(run?.spanContext()).toMatchObject({
      traceId: sentTraceId,
      spanId: '1111111111111111',
      traceFlags: 1,
    });
    expect(run?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Failed' });
    expect(run?.attributes).toEqual({ 'openassist.run.exit_code': 0 });
    expect(run?.resource.attributes).toMatchObject({
      'service.name': 'openassist-agent',
      'openassist.instance_id': 'mi-abc',
    });
    expect(inner?.kind).toBe(SpanKind.INTERNAL);
    expect(inner?.parentSpanContext).toMatchObject({ spanId: '1111111111111111', isRemote: false });
    expect(inner?.status.code).toBe(SpanStatusCode.UNSET);
  });
});
