import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentExecutableName, buildAgentExecutable } from '../../src/agent/executable/build.js';
import type { AgentSpan, TaskSpec } from '../../src/protocol/messages.js';
import { parseTraceparent } from '../../src/protocol/trace-context.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, finishedResult } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const b64 = (text: string) => Buffer.from(text).toString('base64');
// Spans leave the server in batches this often, so the test waits little.
const tracingEnv = (receiver: OtlpReceiver) => ({
  OPENASSIST_OTLP_ENDPOINT: receiver.url,
  OTEL_BSP_SCHEDULE_DELAY: '100',
});
const ms = (span: ReceivedSpan) => Number(span.endNs - span.startNs) / 1e6;

async function activation(client: EcsClient) {
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  return { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
}

async function invoke(client: EcsClient, instanceIds: string[], script: string) {
  const { body: command } = await client.createCommand(
    new Ecs.CreateCommandRequest({
      regionId: region,
      name: `traced-${randomBytes(3).toString('hex')}`,
      type: 'RunShellScript',
      commandContent: b64(script),
    }),
  );
  const { body } = await client.invokeCommand(
    new Ecs.InvokeCommandRequest({
      regionId: region,
      commandId: command?.commandId,
      instanceId: instanceIds,
    }),
  );
  return { invokeId: body?.invokeId ?? '', requestId: body?.requestId ?? '' };
}

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(
    `one InvokeCommand is one trace, to the agent's run and back, on ${factory.name}`,
    () => {
      let receiver: OtlpReceiver;
      let backend: Backend;
      let server: ServerProcess;
      let client: EcsClient;
      let agent: AgentProcess;

      beforeAll(async () => {
        receiver = await startOtlpReceiver();
        backend = factory.make();
        server = await startServerProcess({ databaseUrl: backend.databaseUrl, env: tracingEnv(receiver) });
        client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
        const { id, code } = await activation(client);
        agent = await startAgentProcess({ serverUrl: server.url, activationId: id, activationCode: code });
      });

      afterAll(async () => {
        await agent?.stop();
        expect(await server?.stop()).toBe(0);
        await backend?.dispose();
        await receiver?.close();
      });

      it('has the API request at its root, then the store, the dispatch and the agent run of the script', async () => {
        const { invokeId, requestId } = await invoke(client, [agent.instanceId], 'sleep 0.3; echo done');
        expect((await finishedResult(client, invokeId)).invocationStatus).toBe('Success');

        const rpc = await waitFor('the rpc InvokeCommand span', () =>
          receiver.spans.find((span) => span.attributes['openassist.request_id'] === requestId),
        );
        const run = await waitFor('the agent.run span', () =>
          receiver.spans.find(
            (span) => span.name === 'agent.run' && span.attributes['openassist.invoke_id'] === invokeId,
          ),
        );
        const script = await waitFor('the agent.script span', () =>
          receiver.spans.find((span) => span.name === 'agent.script' && span.parentSpanId === run.spanId),
        );
        const trace = receiver.spans.filter((span) => span.traceId === rpc.traceId);

        // The root: the API request, as the server saw it.
        expect(rpc).toMatchObject({
          name: 'rpc InvokeCommand',
          parentSpanId: '',
          kind: 2,
          service: 'openassist-server',
          statusCode: 0,
        });
        expect(rpc.attributes).toMatchObject({
          'rpc.method': 'InvokeCommand',
          'http.response.status_code': 200,
        });
        expect(receiver.spans.filter((span) => span.name === 'rpc InvokeCommand')).toHaveLength(1);

        // The store, inside the request: the invocation written, the request's nonce claimed.
        const stores = trace.filter((span) => span.name.startsWith('store.'));
        const names = stores.map((span) => span.name);
        expect(names).toContain('store.invocations.create');
        expect(names).toContain('store.nonces.claim');
        expect(names).toContain('store.commands.get');
        // The SDK starts a span at Date.now() (whole ms) and ends it by the monotonic clock: a
        // child may seem to end up to 1 ms after its parent.
        const msNs = 1_000_000n;
        for (const span of stores) {
          expect(span.parentSpanId, span.name).toBe(rpc.spanId);
          expect(span.startNs >= rpc.startNs && span.endNs <= rpc.endNs + msNs, span.name).toBe(true);
        }

        // The dispatch: the task sent to the agent's channel, under the request.
        const dispatches = trace.filter((span) => span.name === 'dispatch');
        expect(dispatches).toHaveLength(1);
        const [dispatch] = dispatches;
        expect(dispatch).toMatchObject({ parentSpanId: rpc.spanId, kind: 4 });
        expect(dispatch?.attributes).toMatchObject({
          'openassist.invoke_id': invokeId,
          'openassist.instance_id': agent.instanceId,
        });

        // The agent's run, under the dispatch, in the same trace; the script inside it, 0.3 s at least.
        expect(run).toMatchObject({
          traceId: rpc.traceId,
          parentSpanId: dispatch?.spanId,
          kind: 5,
          service: 'openassist-agent',
          statusCode: 0,
        });
        expect(run.resource['openassist.instance_id']).toBe(agent.instanceId);
        expect(run.attributes).toMatchObject({
          'openassist.run.status': 'Success',
          'openassist.run.exit_code': 0,
        });
        expect(script.traceId).toBe(rpc.traceId);
        expect(ms(script)).toBeGreaterThanOrEqual(300);
        expect(ms(run)).toBeGreaterThanOrEqual(ms(script));
        expect(script.startNs >= run.startNs && script.endNs <= run.endNs).toBe(true);

        // One trace: every span that names the invocation is in it.
        const naming = receiver.spans.filter((span) => span.attributes['openassist.invoke_id'] === invokeId);
        expect(new Set(naming.map((span) => span.traceId))).toEqual(new Set([rpc.traceId]));
        // Every parent in the trace is a span of the trace (nothing dangles), the root excepted.
        const ids = new Set(trace.map((span) => span.spanId));
        for (const span of trace) if (span !== rpc) expect(ids.has(span.parentSpanId), span.name).toBe(true);
      });
    },
  );
}

const agentSpan = (fields: Partial<AgentSpan>): AgentSpan => ({
  traceId: randomBytes(16).toString('hex'),
  spanId: randomBytes(8).toString('hex'),
  parentSpanId: randomBytes(8).toString('hex'),
  name: 'agent.run',
  startTimeUnixNano: `${BigInt(Date.now() - 10) * 1_000_000n}`,
  endTimeUnixNano: `${BigInt(Date.now()) * 1_000_000n}`,
  attributes: [],
  ...fields,
});
const finished = (invokeId: string, spans: AgentSpan[]) => ({
  type: 'event',
  eventId: `forged-${randomBytes(4).toString('hex')}`,
  invokeId,
  event: {
    kind: 'finished',
    atMs: Date.now(),
    status: 'Success',
    exitCode: 0,
    errorCode: '',
    errorInfo: '',
    droppedBytes: 0,
    spans,
  },
});

describe('spans an agent has no business sending are refused', () => {
  let receiver: OtlpReceiver;
  let server: ServerProcess;
  let client: EcsClient;
  let agent: ProtocolAgent;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    server = await startServerProcess({ env: tracingEnv(receiver) });
    client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    agent = await ProtocolAgent.register(server.url, await activation(client), 'linux');
  });

  afterAll(async () => {
    agent?.close();
    expect(await server?.stop()).toBe(0);
    await receiver?.close();
  });

  it('keeps the spans of the trace sent for the run, drops those of another trace or another run', async () => {
    const { invokeId } = await invoke(client, [agent.instanceId], 'echo hi');
    const task = await waitFor('the task', () =>
      agent.tasks.find((sent: TaskSpec) => sent.invokeId === invokeId),
    );
    const sent = parseTraceparent(task.traceparent);
    expect(sent?.sampled).toBe(true);
    const traceId = sent?.traceId ?? '';
    const parentSpanId = sent?.spanId ?? '';

    // Another run's spans (one this node never sent), then the right run's with a forged trace among them.
    const elsewhere = agentSpan({ traceId, parentSpanId, name: 'agent.elsewhere' });
    agent.sendRaw(finished('t-0123456789abcdef0123456789abcdef', [elsewhere]));
    const forged = agentSpan({ name: 'agent.forged' });
    const own = agentSpan({ traceId, parentSpanId, name: 'agent.own' });
    agent.sendRaw(finished(invokeId, [forged, own]));

    const arrived = await waitFor('the agent span of the run', () =>
      receiver.spans.find((span) => span.spanId === own.spanId),
    );
    expect(arrived).toMatchObject({ traceId, parentSpanId, service: 'openassist-agent' });
    // Handled in order on one channel: both refusals came before the span that arrived.
    const received = receiver.spans.map((span) => span.spanId);
    expect(received).not.toContain(forged.spanId);
    expect(received).not.toContain(elsewhere.spanId);
    expect(receiver.spans.map((span) => span.traceId)).not.toContain(forged.traceId);
    expect(server.stderr()).toContain('agent spans refused');

    // Sent again (the agent did not see the ack), the same spans are not exported twice. The next
    // run's end comes after it on the channel, and a request made after that ends after it too:
    // once that request's span has arrived, a second export would have arrived as well.
    agent.sendRaw(finished(invokeId, [own]));
    const { invokeId: next } = await invoke(client, [agent.instanceId], 'echo again');
    await finishedResult(client, next);
    const { body } = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId: next }),
    );
    await waitFor('a later request span', () =>
      receiver.spans.find((span) => span.attributes['openassist.request_id'] === body?.requestId),
    );
    expect(receiver.spans.filter((span) => span.spanId === own.spanId)).toHaveLength(1);
  });
});

describe('tracing off', () => {
  it('sends the agent no traceparent and the receiver nothing, even when spans come back', async () => {
    const receiver = await startOtlpReceiver();
    // The endpoint is there, and OTEL_SDK_DISABLED turns tracing off all the same.
    const server = await startServerProcess({ env: { ...tracingEnv(receiver), OTEL_SDK_DISABLED: 'true' } });
    try {
      const client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      const agent = await ProtocolAgent.register(server.url, await activation(client), 'linux');
      try {
        const { invokeId } = await invoke(client, [agent.instanceId], 'echo hi');
        const task = await waitFor('the task', () => agent.tasks.find((sent) => sent.invokeId === invokeId));
        expect(task.traceparent).toBeUndefined();
        expect((await finishedResult(client, invokeId)).invocationStatus).toBe('Success');
        // Spans from an agent that traces on its own are ignored; the channel serves on.
        agent.sendRaw({
          ...finished(invokeId, [agentSpan({ startTimeUnixNano: '1', endTimeUnixNano: '2' })]),
          eventId: 'stray',
        });
        const { invokeId: next } = await invoke(client, [agent.instanceId], 'echo again');
        expect((await finishedResult(client, next)).invocationStatus).toBe('Success');
      } finally {
        agent.close();
      }
    } finally {
      // Closing flushes whatever a tracer would hold: after it, nothing can arrive any more.
      expect(await server.stop()).toBe(0);
    }
    expect(receiver.requests).toEqual([]);
    await receiver.close();
  });
});

describe('closing the server', () => {
  it('sends the spans still waiting for their batch before it exits', async () => {
    const receiver = await startOtlpReceiver();
    // A batch would wait ten minutes: only the flush at close can send it in time.
    const server = await startServerProcess({
      env: { OPENASSIST_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '600000' },
    });
    const client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const { body } = await client.describeRegions(new Ecs.DescribeRegionsRequest({}));
    expect(receiver.spans).toEqual([]);
    expect(await server.stop()).toBe(0);
    const rpc = receiver.spans.find((span) => span.attributes['openassist.request_id'] === body?.requestId);
    expect(rpc?.name).toBe('rpc DescribeRegions');
    expect(receiver.requests.every((request) => request.path === '/v1/traces')).toBe(true);
    expect(receiver.requests[0]?.contentType).toBe('application/json');
    await receiver.close();
  });
});

describe('the agent as one executable', () => {
  it('records its runs and sends their spans like `openassist agent` (no OpenTelemetry inside)', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'openassist-traced-executable-'));
    // `npm run build` made it; without one, the test builds its own from the sources.
    const built = new URL(`../../dist/agent/${agentExecutableName()}`, import.meta.url).pathname;
    const executable = existsSync(built) ? built : (await buildAgentExecutable({ outDir: scratch })).path;
    // The agent ships small: its spans are plain data, the SDK stays on the server.
    expect((await readFile(executable)).includes('@opentelemetry/')).toBe(false);
    const receiver = await startOtlpReceiver();
    const server = await startServerProcess({ env: tracingEnv(receiver) });
    try {
      const client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      const { id, code } = await activation(client);
      const agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: id,
        activationCode: code,
        executable,
      });
      try {
        const { invokeId } = await invoke(client, [agent.instanceId], 'sleep 0.1');
        expect((await finishedResult(client, invokeId)).invocationStatus).toBe('Success');
        const run = await waitFor('the agent.run span', () =>
          receiver.spans.find(
            (span) => span.name === 'agent.run' && span.attributes['openassist.invoke_id'] === invokeId,
          ),
        );
        const dispatch = receiver.spans.find((span) => span.spanId === run.parentSpanId);
        expect(dispatch).toMatchObject({ name: 'dispatch', traceId: run.traceId });
        expect(run.resource['openassist.instance_id']).toBe(agent.instanceId);
      } finally {
        await agent.stop();
      }
    } finally {
      expect(await server.stop()).toBe(0);
      await receiver.close();
      await rm(scratch, { recursive: true, force: true });
    }
  });
});
