import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { type AgentMessage, parseServerMessage, type TaskEvent } from '../../src/protocol/messages.js';
import { waitFor } from '../helpers/deadline.js';
import { type InProcessApi, startInProcessApi } from '../helpers/in-process-api.js';
import { helloMessage, openChannel, registerIdentity } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient } from '../helpers/sdk.js';

// An event the server fails to store must never be acknowledged, nor any event after it on that
// channel: the agent forgets what is acknowledged, so an acknowledged event that was not stored is
// lost for good. The server closes the channel instead and the agent sends again, in order.
const { SqliteError } = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const region = 'cn-hangzhou';

type EventMessage = Extract<AgentMessage, { type: 'event' }>;

/** An agent's channel as the real agent keeps it: events stay journalled until acknowledged. */
class JournallingChannel {
  readonly acked = new Set<string>();
  readonly tasks: string[] = [];
  closeCode: number | undefined;

  private constructor(readonly socket: WebSocket) {}

  static async open(url: string, identity: { instanceId: string; token: string }) {
    const channel = new JournallingChannel(openChannel(url, identity));
    let welcomed = false;
    channel.socket.on('open', () => channel.socket.send(JSON.stringify(helloMessage())));
    channel.socket.on('close', (code) => {
      channel.closeCode = code;
    });
    channel.socket.on('message', (data) => {
      const message = parseServerMessage(data.toString());
      if (message?.type === 'welcome') welcomed = true;
      if (message?.type === 'task') channel.tasks.push(message.task.invokeId);
      if (message?.type === 'ack') for (const id of message.eventIds) channel.acked.add(id);
    });
    await waitFor('the welcome', () => (welcomed ? true : undefined));
    return channel;
  }

  send(event: EventMessage): void {
    this.socket.send(JSON.stringify(event));
  }

  acknowledged(eventIds: readonly string[]): Promise<true> {
    return waitFor(`acks of ${eventIds.join(', ')}`, () =>
      eventIds.every((id) => this.acked.has(id)) ? true : undefined,
    );
  }
}

describe('an agent event the server fails to store', () => {
  let api: InProcessApi;
  let url: string;
  let client: EcsClient;
  let identity: { instanceId: string; token: string };
  /** The output offset whose next apply fails as a full disk would. */
  let failAt: number | undefined;
  let failures = 0;

  beforeAll(async () => {
    api = await startInProcessApi('event-ack');
    url = await api.app.listen({ host: '127.0.0.1', port: 0 });
    client = ecsClient(url.replace('http://', ''), api.key.id, api.key.secret);
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    identity = await registerIdentity(url, {
      id: body?.activationId ?? '',
      code: body?.activationCode ?? '',
    });
    const invocations = api.services.invocations;
    const apply = invocations.applyEvents.bind(invocations);
    invocations.applyEvents = async (instanceId, invokeId, execution, events) => {
      if (events.some((event) => event.kind === 'output' && event.offset === failAt)) {
        failAt = undefined;
        failures++;
        throw new SqliteError('database or disk is full', 'SQLITE_FULL');
      }
      return apply(instanceId, invokeId, execution, events);
    };
  });

  afterAll(async () => {
    await api?.close();
  });

  it('is not acknowledged, nor any later event on that channel; the channel closes and the events sent again are all stored', async () => {
    const first = await JournallingChannel.open(url, identity);
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo',
        instanceId: [identity.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    await waitFor('the task', () => (first.tasks.includes(invokeId) ? true : undefined));
    let ids = 0;
    const journal: EventMessage[] = [];
    const record = (event: TaskEvent): EventMessage => {
      const message: EventMessage = { type: 'event', eventId: String(++ids), invokeId, event };
      journal.push(message);
      return message;
    };
    const output = (offset: number, text: string) =>
      record({ kind: 'output', offset, data: Buffer.from(text).toString('base64') });

    const accepted = record({ kind: 'accepted' });
    const started = record({ kind: 'started', atMs: Date.now() });
    const a = output(0, 'aaaa');
    for (const event of [accepted, started, a]) first.send(event);
    await first.acknowledged(['1', '2', '3']);

    failAt = 4;
    first.send(output(4, 'bbbb'));
    await waitFor('the failed apply', () => (failures === 1 ? true : undefined));
    // Sent after the failure, on the same channel: its offset leaves a gap where `bbbb` belongs.
    first.send(output(8, 'cccc'));
    await waitFor('the channel to close, or the later chunk to be acknowledged', () =>
      first.closeCode !== undefined || first.acked.has('5') ? true : undefined,
    );
    expect(first.acked.has('4')).toBe(false);
    expect(first.acked.has('5')).toBe(false);
    await waitFor('the channel to close', () => first.closeCode);
    expect(first.closeCode).toBe(1011);

    // The agent reconnects and sends, oldest first, what it still holds: everything not acknowledged.
    const second = await JournallingChannel.open(url, identity);
    record({
      kind: 'finished',
      atMs: Date.now(),
      status: 'Success',
      exitCode: 0,
      errorCode: '',
      errorInfo: '',
      droppedBytes: 0,
    });
    const held = journal.filter((event) => !first.acked.has(event.eventId));
    for (const event of held) second.send(event);
    await second.acknowledged(held.map((event) => event.eventId));

    const { body: results } = await client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
    );
    expect(results?.invocation?.invocationResults?.invocationResult?.[0]).toMatchObject({
      invocationStatus: 'Success',
      output: 'aaaabbbbcccc',
      dropped: 0,
    });
    second.socket.close();
  }, 60_000);

  it('counts output that can never arrive as dropped: a gap before a chunk, and a lost end', async () => {
    const channel = await JournallingChannel.open(url, identity);
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo',
        instanceId: [identity.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    await waitFor('the task', () => (channel.tasks.includes(invokeId) ? true : undefined));
    const events: TaskEvent[] = [
      { kind: 'accepted' },
      { kind: 'started', atMs: Date.now() },
      { kind: 'output', offset: 0, data: Buffer.from('aaaa').toString('base64') },
      // Bytes 4-7 and 12-15 were sent unjournalled (the agent's disk was full) and lost on the way.
      { kind: 'output', offset: 8, data: Buffer.from('cccc').toString('base64') },
      {
        kind: 'finished',
        atMs: Date.now(),
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
        outputBytes: 16,
      },
    ];
    events.forEach((event, i) => {
      channel.send({ type: 'event', eventId: `lost-${i}`, invokeId, event });
    });
    await channel.acknowledged(events.map((_, i) => `lost-${i}`));
    const { body: results } = await client.describeInvocationResults(
      new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId, contentEncoding: 'PlainText' }),
    );
    expect(results?.invocation?.invocationResults?.invocationResult?.[0]).toMatchObject({
      invocationStatus: 'Success',
      output: 'aaaacccc',
      dropped: 8,
    });
    channel.socket.close();
  }, 60_000);
});
