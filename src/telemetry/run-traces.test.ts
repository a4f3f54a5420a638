import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { taskSpec } from '../../test/helpers/task-spec.js';
import type { AgentSpan, TaskSpec } from '../protocol/messages.js';
import { parseTraceparent } from '../protocol/trace-context.js';
import type { Store } from '../store/store.js';
import { RunTraces } from './run-traces.js';
import { tracedStore } from './traced-store.js';
import { maxChildCalls, Tracing } from './tracing.js';

const settings = {
  tracesUrl: 'http://127.0.0.1:9/v1/traces',
  serviceName: 'test',
  exportDelayMs: 60_000,
  sampler: { ratio: 1, parentBased: true },
};

/** A Tracing whose spans stay in memory; `ended()` flushes and lists them. */
function memoryTracing() {
  const exporter = new InMemorySpanExporter();
  const tracing = Tracing.start(
    settings,
    { id: 'node-test', version: 'test' },
    pino({ level: 'silent' }),
    exporter,
  );
  return {
    tracing,
    async ended(): Promise<ReadableSpan[]> {
      await tracing.flush();
      const spans = exporter.getFinishedSpans();
      await tracing.shutdown();
      return spans;
    },
  };
}

const run = { instanceId: 'mi-1', invokeId: 't-1', execution: 0 };

/** Sends `task` the way task delivery does, returning what went out. */
async function dispatched(traces: RunTraces, task: TaskSpec): Promise<TaskSpec> {
  let sent: TaskSpec | undefined;
  await traces.dispatch({ ...run, invokeId: task.invokeId }, async (stamp) => {
    sent = stamp(task);
  });
  if (!sent) throw new Error('nothing sent');
  return sent;
}

/** What an agent sends back for a task it was sent. */
function agentRunSpan(task: TaskSpec, fields: Partial<AgentSpan> = {}): AgentSpan {
  const parent = parseTraceparent(task.traceparent);
  return {
    traceId: parent?.traceId ?? '',
    spanId: 'a1a1a1a1a1a1a1a1',
    parentSpanId: parent?.spanId ?? '',
    name: 'agent.run',
    startTimeUnixNano: '1700000000000000000',
    endTimeUnixNano: '1700000000500000000',
    attributes: [],
    ...fields,
  };
}

describe('RunTraces: an invocation trace carried to its agents and back', () => {
  it('sends the task in a dispatch span under the creating request, and exports the agent spans of that trace once', async () => {
    const { tracing, ended } = memoryTracing();
    const traces = new RunTraces(tracing, Date.now);
    let task: TaskSpec | undefined;
    await tracing.inSpan('rpc InvokeCommand', { kind: SpanKind.SERVER }, async () => {
      expect(traces.remember('t-1')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      task = await dispatched(traces, taskSpec('t-1'));
    });
    const sent = task ?? taskSpec('t-1');
    expect(traces.agentSpans(run, 'Success', [agentRunSpan(sent)]).accepted).toHaveLength(1);
    // The same report again (an unacknowledged event sent again) is not exported twice.
    expect(traces.agentSpans(run, 'Success', [agentRunSpan(sent)]).accepted).toHaveLength(0);
    const spans = await ended();
    const byName = new Map(spans.map((span) => [span.name, span]));
    const rpc = byName.get('rpc InvokeCommand');
    const dispatch = byName.get('dispatch');
    const agent = byName.get('agent.run');
    expect(dispatch?.parentSpanContext?.spanId).toBe(rpc?.spanContext().spanId);
    expect(dispatch?.kind).toBe(SpanKind.PRODUCER);
    expect(parseTraceparent(sent.traceparent)?.spanId).toBe(dispatch?.spanContext().spanId);
    expect(agent?.parentSpanContext?.spanId).toBe(dispatch?.spanContext().spanId);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(spans.filter((span) => span.name === 'agent.run')).toHaveLength(1);
  });

  it('refuses spans of a run sent to another instance, or of a run sent no trace', async () => {
    const { tracing, ended } = memoryTracing();
    const traces = new RunTraces(tracing, Date.now);
    let task: TaskSpec | undefined;
    await tracing.inSpan('rpc', {}, async () => {
      traces.remember('t-1');
      task = await dispatched(traces, taskSpec('t-1'));
    });
    const span = agentRunSpan(task ?? taskSpec('t-1'));
    expect(traces.agentSpans({ ...run, instanceId: 'mi-2' }, 'Success', [span]).accepted).toEqual([]);
    expect(traces.agentSpans({ ...run, execution: 3 }, 'Success', [span]).accepted).toEqual([]);
    expect((await ended()).map((ended) => ended.name)).not.toContain('agent.run');
  });

  it('joins the trace another node sent in its wake-up, and leaves untraced invocations and schedules alone', async () => {
    const { tracing, ended } = memoryTracing();
    const traces = new RunTraces(tracing, Date.now);
    const remote = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    traces.adopt('t-1', remote);
    const adopted = parseTraceparent((await dispatched(traces, taskSpec('t-1'))).traceparent);
    expect(adopted?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    // Not remembered: sent as it is, no span.
    expect((await dispatched(traces, taskSpec('t-2'))).traceparent).toBeUndefined();
    // A Period task's runs come hours later: not stamped.
    traces.adopt('t-3', remote);
    const schedule = taskSpec('t-3', { schedule: { frequency: 'rate(5m)', startMs: 0 } });
    expect((await dispatched(traces, schedule)).traceparent).toBeUndefined();
    // A caller outside any span has nothing to remember; a malformed traceparent is ignored.
    expect(traces.remember('t-4')).toBeUndefined();
    traces.adopt('t-5', 'nonsense');
    expect((await dispatched(traces, taskSpec('t-5'))).traceparent).toBeUndefined();
    const dispatches = (await ended()).filter((span) => span.name === 'dispatch');
    expect(dispatches.map((span) => span.parentSpanContext?.spanId)).toEqual([
      '00f067aa0ba902b7',
      '00f067aa0ba902b7',
    ]);
  });

  it('forgets an invocation after ten minutes: a reboot task days later is not part of the request', async () => {
    const { tracing } = memoryTracing();
    let now = 0;
    const traces = new RunTraces(tracing, () => now);
    traces.adopt('t-1', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    now = 10 * 60_000 + 1;
    expect((await dispatched(traces, taskSpec('t-1'))).traceparent).toBeUndefined();
    await tracing.shutdown();
  });

  it('does not stamp a task whose request is not sampled', async () => {
    const { tracing, ended } = memoryTracing();
    const traces = new RunTraces(tracing, Date.now);
    traces.adopt('t-1', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00');
    expect((await dispatched(traces, taskSpec('t-1'))).traceparent).toBeUndefined();
    expect(await ended()).toEqual([]);
  });
});

describe('a sampler that leaves a request out', () => {
  it('records nothing of it: no request span, no store spans, no trace for its deliveries', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.start(
      { ...settings, sampler: { ratio: 0, parentBased: true } },
      { id: 'node-test', version: 'test' },
      pino({ level: 'silent' }),
      exporter,
    );
    const traces = new RunTraces(tracing, Date.now);
    const store = tracedStore({ commands: { get: async () => 'row' } } as unknown as Store, tracing);
    await tracing.inSpan('rpc', {}, async () => {
      expect(await store.commands.get('r', 'c', { tags: false })).toBe('row');
      expect(traces.remember('t-1')).toBeUndefined();
    });
    expect((await dispatched(traces, taskSpec('t-1'))).traceparent).toBeUndefined();
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });
});

describe('tracedStore: store calls inside a traced request are spans', () => {
  const fakeStore = () =>
    ({
      dialect: 'sqlite',
      commands: {
        calls: 0,
        async get(this: { calls: number }, id: string) {
          this.calls += 1;
          return { id };
        },
        fail: async () => {
          throw new Error('disk full');
        },
      },
      notifications: { listen: () => undefined },
      ping: async () => undefined,
      close: async () => undefined,
    }) as unknown as Store;

  it('names them store.<repo>.<method> under the request, keeps `this`, and makes none outside a request', async () => {
    const { tracing, ended } = memoryTracing();
    const raw = fakeStore();
    const store = tracedStore(raw, tracing);
    expect(await store.commands.get('r', 'c-0', { tags: false })).toEqual({ id: 'r' });
    await tracing.inSpan('rpc', {}, async () => {
      expect(await store.commands.get('r', 'c-1', { tags: false })).toEqual({ id: 'r' });
      await expect((store.commands as unknown as { fail: () => Promise<void> }).fail()).rejects.toThrow(
        'disk full',
      );
    });
    expect((raw.commands as unknown as { calls: number }).calls).toBe(2);
    expect(store.dialect).toBe('sqlite');
    expect(store.notifications).toBe(raw.notifications);
    const spans = await ended();
    expect(spans.map((span) => span.name).sort()).toEqual([
      'rpc',
      'store.commands.fail',
      'store.commands.get',
    ]);
    const rpc = spans.find((span) => span.name === 'rpc');
    for (const span of spans.filter((span) => span.name.startsWith('store.')))
      expect(span.parentSpanContext?.spanId).toBe(rpc?.spanContext().spanId);
    expect(spans.find((span) => span.name === 'store.commands.fail')?.attributes['error.type']).toBe('Error');
  });

  it('gives one request at most maxChildCalls store spans (a stream polls for as long as it lasts)', async () => {
    const { tracing, ended } = memoryTracing();
    const store = tracedStore({ commands: { get: async () => 'row' } } as unknown as Store, tracing);
    await tracing.inSpan('rpc StreamInvocationOutput', {}, async () => {
      for (let i = 0; i < maxChildCalls + 10; i++) await store.commands.get('r', 'c', { tags: false });
    });
    const spans = await ended();
    expect(spans.filter((span) => span.name === 'store.commands.get')).toHaveLength(maxChildCalls);
  });

  it('keeps two servers in one process apart: each exports its own spans only', async () => {
    const first = memoryTracing();
    const second = memoryTracing();
    await first.tracing.inSpan('first', {}, async () => {
      await second.tracing.inSpan('second', {}, async () => undefined);
    });
    const [a, b] = [await first.ended(), await second.ended()];
    expect(a.map((span) => span.name)).toEqual(['first']);
    expect(b.map((span) => span.name)).toEqual(['second']);
  });
});
