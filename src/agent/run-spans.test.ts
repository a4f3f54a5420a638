import { describe, expect, it } from 'vitest';
import { taskSpec } from '../../test/helpers/task-spec.js';
import { RunSpans, type SpanClock } from './run-spans.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const dispatchSpanId = '00f067aa0ba902b7';

/** A clock the test moves: the wall clock starts at 1.7e12 ms, the monotonic one at 500 ms. */
function manualClock() {
  let monotonic = 500;
  let wall = 1_700_000_000_000;
  const clock: SpanClock = { wallMs: () => wall, monotonicMs: () => monotonic };
  return {
    clock,
    advance(ms: number) {
      monotonic += ms;
      wall += ms;
    },
    stepWall(ms: number) {
      wall += ms;
    },
  };
}

describe('RunSpans: the spans an agent records of a traced run', () => {
  it('records nothing for a task without a sampled traceparent', () => {
    expect(RunSpans.begin(taskSpec('t-1'))).toBeUndefined();
    expect(
      RunSpans.begin(taskSpec('t-1', { traceparent: `00-${traceId}-${dispatchSpanId}-00` })),
    ).toBeUndefined();
    expect(RunSpans.begin(taskSpec('t-1', { traceparent: 'garbage' }))).toBeUndefined();
  });

  it('gives agent.run under the dispatch span and agent.script under agent.run, timed by the monotonic clock', () => {
    const time = manualClock();
    const spans = RunSpans.begin(
      taskSpec('t-1', { traceparent: `00-${traceId}-${dispatchSpanId}-01` }),
      time.clock,
    );
    time.advance(20);
    spans?.started();
    time.stepWall(-60_000); // an NTP step during the run bends nothing
    time.advance(300.5);
    const [run, script, ...more] = spans?.finish({ status: 'Success', exitCode: 0, errorCode: '' }) ?? [];
    expect(more).toEqual([]);
    expect(run).toMatchObject({
      traceId,
      parentSpanId: dispatchSpanId,
      name: 'agent.run',
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000320500000',
    });
    expect(run?.attributes).toEqual([
      { key: 'openassist.invoke_id', value: 't-1' },
      { key: 'openassist.execution', value: 0 },
      { key: 'openassist.run.status', value: 'Success' },
      { key: 'openassist.run.exit_code', value: 0 },
    ]);
    expect(script).toMatchObject({
      traceId,
      parentSpanId: run?.spanId,
      name: 'agent.script',
      startTimeUnixNano: '1700000000020000000',
      endTimeUnixNano: '1700000000320500000',
    });
    expect(run?.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(script?.spanId).not.toBe(run?.spanId);
  });

  it('gives only agent.run, with the error code, for a run that never started', () => {
    const spans = RunSpans.begin(taskSpec('t-1', { traceparent: `00-${traceId}-${dispatchSpanId}-01` }));
    const finished = spans?.finish({ status: 'Error', exitCode: null, errorCode: 'ExecutionException' });
    expect(finished?.map((span) => span.name)).toEqual(['agent.run']);
    expect(finished?.[0]?.attributes).toContainEqual({
      key: 'openassist.run.error_code',
      value: 'ExecutionException',
    });
  });
});
