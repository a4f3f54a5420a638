import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { type Credentials, signCall } from '../../src/client/sign.js';
import { followInvocation, type InvocationEvent } from '../../src/client/stream.js';
import type { RepeatMode } from '../../src/domain/invocation.js';
import type { TaskEvent } from '../../src/protocol/messages.js';
import type { InvocationService } from '../../src/service/invocations.js';
import type { Store } from '../../src/store/store.js';
import { waitFor } from '../helpers/deadline.js';
import { type InProcessApi, startInProcessApi } from '../helpers/in-process-api.js';
import { invocationRecord } from '../helpers/store-records.js';

// The server in this process, so a test can apply agent events itself and look at what a stream
// leaves behind; the agents are played by calling the service exactly as the agent hub does.
let api: InProcessApi;
let app: FastifyInstance;
let store: Store;
let invocations: InvocationService;
let credentials: Credentials;

beforeAll(async () => {
  api = await startInProcessApi('stream');
  ({ app, store } = api);
  invocations = api.services.invocations;
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  credentials = {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: api.key.id,
    accessKeySecret: api.key.secret,
  };
});

afterAll(async () => {
  await api?.close();
});

async function createInvocation(id: string, repeatMode: RepeatMode, instanceIds: string[]): Promise<void> {
  await store.invocations.create(
    invocationRecord({
      id,
      commandId: 'c-stream',
      commandName: 'stream',
      repeatMode,
      frequency: repeatMode === 'Period' ? 'rate(1m)' : '',
      createdAtMs: Date.now(),
    }),
    instanceIds.map((instanceId) => ({ instanceId, status: 'Pending', errorCode: '', errorInfo: '' })),
  );
}

const output = (offset: number, text: string): TaskEvent => ({
  kind: 'output',
  offset,
  data: Buffer.from(text).toString('base64'),
});
const finished = (status: 'Success' | 'Failed' = 'Success'): TaskEvent => ({
  kind: 'finished',
  atMs: Date.now(),
  status,
  exitCode: status === 'Success' ? 0 : 1,
  errorCode: '',
  errorInfo: '',
  droppedBytes: 0,
});

/** A follower that hands over its events one by one. */
function follower(options: { invokeId: string; instanceId?: string }) {
  const controller = new AbortController();
  const iterator = followInvocation(credentials, { ...options, signal: controller.signal })[
    Symbol.asyncIterator
  ]();
  return {
    controller,
    async next(): Promise<InvocationEvent> {
      const result = await iterator.next();
      if (result.done) throw new Error('the stream ended');
      return result.value;
    },
  };
}

describe('StreamInvocationOutput in process', () => {
  it('wakes a follower as soon as this node applies an event, and leaves nothing behind on disconnect', async () => {
    await createInvocation('t-wake', 'Once', ['mi-wake']);
    const follow = follower({ invokeId: 't-wake' });
    expect(await follow.next()).toMatchObject({ type: 'status', data: { InvocationStatus: 'Pending' } });
    expect(invocations.changes.listenerCount('t-wake')).toBe(1);
    await invocations.applyEvent('mi-wake', 't-wake', 0, { kind: 'started', atMs: Date.now() });
    expect(await follow.next()).toMatchObject({ type: 'status', data: { InvocationStatus: 'Running' } });
    // Without the wake-up an event would wait for the 1 s re-read: about 500 ms on average.
    const delays: number[] = [];
    let offset = 0;
    for (let i = 0; i < 7; i++) {
      const text = `line ${i}\n`;
      const sentAt = performance.now();
      await invocations.applyEvent('mi-wake', 't-wake', 0, output(offset, text));
      const event = await follow.next();
      delays.push(performance.now() - sentAt);
      expect(event).toMatchObject({ type: 'output', data: { Offset: offset, Output: btoa(text) } });
      offset += text.length;
    }
    delays.sort((a, b) => a - b);
    console.log(`in-process wake-up: median ${delays[3]?.toFixed(1)} ms, max ${delays[6]?.toFixed(1)} ms`);
    expect(delays[3]).toBeLessThan(250);
    follow.controller.abort();
    await waitFor('the stream to let go', () =>
      invocations.changes.listenerCount() === 0 ? true : undefined,
    );
  });

  it('follows every run of a schedule, and DescribeInvocationOutput reads its newest run by default', async () => {
    await createInvocation('t-period', 'Period', ['mi-p']);
    await invocations.applyEvent('mi-p', 't-period', 0, { kind: 'accepted' });
    for (const execution of [1, 2]) {
      await invocations.applyEvent('mi-p', 't-period', execution, { kind: 'accepted', scheduledAtMs: 1 });
      await invocations.applyEvent('mi-p', 't-period', execution, { kind: 'started', atMs: Date.now() });
      await invocations.applyEvent('mi-p', 't-period', execution, output(0, `run ${execution}\n`));
      await invocations.applyEvent('mi-p', 't-period', execution, finished());
    }
    const follow = follower({ invokeId: 't-period', instanceId: 'mi-p' });
    const seen: InvocationEvent[] = [];
    for (let i = 0; i < 5; i++) seen.push(await follow.next());
    expect(
      seen.map((event) =>
        event.type === 'end' ? [event.type] : [event.type, event.data.InstanceId, event.data.Execution],
      ),
    ).toEqual([
      ['status', 'mi-p', 0],
      ['output', 'mi-p', 1],
      ['output', 'mi-p', 2],
      ['status', 'mi-p', 1],
      ['status', 'mi-p', 2],
    ]);
    // The schedule ends (the agent reports run 0 finished): then the stream ends.
    await invocations.applyEvent('mi-p', 't-period', 0, finished());
    expect(await follow.next()).toMatchObject({
      type: 'status',
      data: { Execution: 0, InvocationStatus: 'Success' },
    });
    expect(await follow.next()).toMatchObject({ type: 'end', data: { InvocationStatus: 'Success' } });

    const read = (execution?: number) =>
      invoke(credentials, 'DescribeInvocationOutput', {
        RegionId: 'cn-hangzhou',
        InvokeId: 't-period',
        InstanceId: 'mi-p',
        Execution: execution,
        ContentEncoding: 'PlainText',
      });
    expect(await read()).toMatchObject({ Execution: 2, Output: 'run 2\n', Finished: true, TotalBytes: 6 });
    expect(await read(0)).toMatchObject({ Execution: 2, Output: 'run 2\n' });
    expect(await read(1)).toMatchObject({ Execution: 1, Output: 'run 1\n', InvocationStatus: 'Success' });
  });

  it('ends a stream open on an unfinished run when the server closes', async () => {
    await createInvocation('t-open', 'Once', ['mi-open']);
    const { url, headers } = await signCall(
      credentials,
      'StreamInvocationOutput',
      new Map([
        ['RegionId', 'cn-hangzhou'],
        ['InvokeId', 't-open'],
      ]),
    );
    const response = await fetch(url, { method: 'POST', headers });
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    const closed = app.close();
    for (;;) if ((await reader.read()).done) break;
    await closed;
    expect(invocations.changes.listenerCount()).toBe(0);
  });
});
