import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import {
  FakeNotifications,
  FakeSessions,
  FakeSocket,
  fakeInstance,
  hello,
  task,
} from '../../test/helpers/hub-fakes.js';
import type { ResourceUsageConfig } from '../domain/resource-usage.js';
import { closeCodes } from '../protocol/close-codes.js';
import { AgentHub } from './agent-hub.js';
import { NodeBus } from './node-bus.js';
import { ResourceCapsSource } from './resource-caps.js';

// The hub's connection handling against in-memory fakes: no sockets, no store, no processes.
// Close codes are the documented ones (docs/agent-protocol.md, protocol/close-codes.ts).

const hubs: AgentHub[] = [];

function setup() {
  const sessions = new FakeSessions();
  const notifications = new FakeNotifications();
  const logger = pino({ level: 'silent' });
  const hub = new AgentHub({
    sessions,
    bus: new NodeBus(notifications, 'node-a', logger),
    logger,
    heartbeatSeconds: 20,
    nowMs: Date.now,
  });
  hubs.push(hub);
  /** An admitted agent's channel, attached to the hub. */
  const connect = (instanceId = 'mi-1') => {
    const socket = new FakeSocket();
    hub.attach(socket, fakeInstance(instanceId));
    return socket;
  };
  /** A channel whose agent has said hello and been welcomed. */
  const greeted = async (instanceId = 'mi-1') => {
    const socket = connect(instanceId);
    socket.receive(hello());
    await waitFor('the welcome', () => socket.sent('welcome')[0]);
    return socket;
  };
  return { hub, sessions, notifications, connect, greeted };
}

afterEach(async () => {
  for (const hub of hubs.splice(0)) await hub.closeAll();
});

/** Lets the queued acknowledgements (sent on the next turn) go out. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const event = (eventId: string, invokeId: string) =>
  ({ type: 'event', eventId, invokeId, event: { kind: 'started', atMs: 1 } }) as const;

describe('the agent hub', () => {
  it('answers a hello with a welcome, then sends the tasks waiting for the agent', async () => {
    const { sessions, connect } = setup();
    sessions.waiting.set('mi-1', [task('t-1'), task('t-2')]);
    const socket = connect();
    socket.receive(hello());
    const welcome = await waitFor('the welcome', () => socket.sent('welcome')[0]);
    expect(welcome).toEqual({ type: 'welcome', instanceId: 'mi-1', heartbeatSeconds: 20 });
    expect(sessions.greetings).toHaveLength(1);
    const tasks = await waitFor('the tasks', () =>
      socket.sent('task').length === 2 ? socket.sent('task') : undefined,
    );
    expect(tasks.map((frame) => frame.task.invokeId)).toEqual(['t-1', 't-2']);
    // The welcome goes before any task.
    expect(socket.frames[0]?.type).toBe('welcome');
  });

  it('acknowledges an event only once it is stored', async () => {
    const { sessions, greeted } = setup();
    const socket = await greeted();
    socket.receive(event('e-1', 't-1'));
    const write = await waitFor('the event write', () => sessions.applied[0]);
    expect(write).toMatchObject({ invokeId: 't-1', execution: 0 });
    await nextTurn();
    expect(socket.sent('ack')).toEqual([]);
    write.stored.resolve([true]);
    const ack = await waitFor('the ack', () => socket.sent('ack')[0]);
    expect(ack.eventIds).toEqual(['e-1']);
  });

  it('applies a burst of one run in one write and answers it with one ack frame', async () => {
    const { sessions, greeted } = setup();
    const socket = await greeted();
    socket.receive(event('e-1', 't-1'));
    const first = await waitFor('the first write', () => sessions.applied[0]);
    // Received while the first write is in progress: they wait together for the next one.
    socket.receive(event('e-2', 't-1'));
    socket.receive(event('e-3', 't-1'));
    first.stored.resolve([true]);
    const second = await waitFor('the second write', () => sessions.applied[1]);
    expect(second.events).toHaveLength(2);
    second.stored.resolve([true, true]);
    await waitFor('the acks', () => (socket.sent('ack').length === 2 ? true : undefined));
    expect(socket.sent('ack').map((ack) => ack.eventIds)).toEqual([['e-1'], ['e-2', 'e-3']]);
  });

  it('closes the channel as not stored, acknowledging nothing, when an event cannot be stored', async () => {
    const { sessions, greeted } = setup();
    const socket = await greeted();
    socket.receive(event('e-1', 't-1'));
    const write = await waitFor('the event write', () => sessions.applied[0]);
    write.stored.reject(new Error('disk full'));
    await waitFor('the close', () => socket.closeCode);
    expect(socket.closeCode).toBe(closeCodes.notStored);
    await nextTurn();
    expect(socket.sent('ack')).toEqual([]);
  });

  it.each([
    ['text that is not JSON', 'not json', false],
    ['a message of no known type', JSON.stringify({ type: 'surprise' }), false],
    ['a binary frame', Buffer.from(JSON.stringify(hello())), true],
  ])('closes the channel as malformed on %s', async (_what, frame, isBinary) => {
    const { connect } = setup();
    const socket = connect();
    socket.receive(frame, isBinary);
    expect(socket.closeCode).toBe(closeCodes.malformed);
    expect(socket.closeReason).toBe('malformed message');
    expect(socket.frames).toEqual([]);
  });

  it('closes the channel as malformed on a second hello', async () => {
    const { sessions, greeted } = setup();
    const socket = await greeted();
    socket.receive(hello({ bootId: 'boot-2' }));
    expect(socket.closeCode).toBe(closeCodes.malformed);
    expect(socket.closeReason).toBe('hello twice');
    await nextTurn();
    expect(sessions.greetings.map((greeting) => greeting.bootId)).toEqual(['boot-1']);
  });

  it('ignores events before the hello', async () => {
    const { sessions, connect } = setup();
    const socket = connect();
    socket.receive(event('e-1', 't-1'));
    await nextTurn();
    expect(sessions.applied).toEqual([]);
  });

  it('replaces an older channel of the same agent and marks it offline only when the last one closes', async () => {
    const { sessions, greeted, hub } = setup();
    const first = await greeted();
    const second = await greeted();
    await nextTurn();
    expect(first.closeCode).toBe(closeCodes.replaced);
    expect(hub.connectedCount).toBe(1);
    expect(sessions.disconnects).toEqual([]);
    second.close(1000, 'bye');
    await waitFor('the instance offline', () => (sessions.disconnects.length > 0 ? true : undefined));
    expect(sessions.disconnects).toEqual(['mi-1']);
  });

  it('sends a new task once, as the service rendered it for the instance', async () => {
    const { hub, greeted } = setup();
    const socket = await greeted();
    const created = { invokeId: 't-new', createdAtMs: 0, render: async () => task('t-new') };
    hub.wake(['mi-1'], created);
    hub.wake(['mi-1'], created);
    await waitFor('the task', () => socket.sent('task')[0]);
    await nextTurn();
    expect(socket.sent('task').map((frame) => frame.task.invokeId)).toEqual(['t-new']);
  });

  it('asks the other nodes to wake the agents it does not hold', async () => {
    const { hub, notifications, greeted } = setup();
    await greeted('mi-1');
    hub.wake(['mi-1', 'mi-2'], { invokeId: 't-1', createdAtMs: 0, render: async () => task('t-1') });
    expect(notifications.published.map((payload) => JSON.parse(payload))).toEqual([
      { kind: 'wake', instanceIds: ['mi-2'], from: 'node-a' },
    ]);
  });

  it('passes on well-formed cancellations from other nodes and drops malformed ones', async () => {
    const { hub, notifications, greeted } = setup();
    await hub.listen();
    const socket = await greeted();
    const cancel = { kind: 'cancel', from: 'node-b', instanceId: 'mi-1', invokeId: 't-1' };
    notifications.deliver(JSON.stringify({ ...cancel, terminationMode: 'Everything' }));
    notifications.deliver(JSON.stringify({ ...cancel, invokeId: 7, terminationMode: 'Process' }));
    notifications.deliver(JSON.stringify({ ...cancel, terminationMode: 'Process' }));
    expect(socket.sent('cancel')).toEqual([{ type: 'cancel', invokeId: 't-1', terminationMode: 'Process' }]);
  });
});

describe("the hub and the agents' resource caps", () => {
  const mib = 1024 * 1024;

  function setupWithCaps() {
    const sessions = new FakeSessions();
    const notifications = new FakeNotifications();
    const logger = pino({ level: 'silent' });
    const regions = new Map<string, ResourceUsageConfig>([
      ['cn-hangzhou', { memoryLimit: '64MB', memoryLimitBytes: 64 * mib }],
    ]);
    let reads = 0;
    const settings = {
      resourceUsageByRegion: async () => {
        reads++;
        return new Map(regions);
      },
    };
    const hub = new AgentHub({
      sessions,
      bus: new NodeBus(notifications, 'node-a', logger),
      logger,
      heartbeatSeconds: 20,
      nowMs: Date.now,
      resourceCaps: new ResourceCapsSource(settings, logger),
    });
    hubs.push(hub);
    const greeted = async (instanceId: string) => {
      const socket = new FakeSocket();
      hub.attach(socket, fakeInstance(instanceId));
      socket.receive(hello());
      await waitFor('the welcome', () => socket.sent('welcome')[0]);
      return socket;
    };
    return { hub, sessions, notifications, regions, greeted, reads: () => reads };
  }

  it('sends the region caps in the welcome, reading the settings once for many hellos', async () => {
    const { greeted, reads } = setupWithCaps();
    const first = await greeted('mi-1');
    const second = await greeted('mi-2');
    for (const socket of [first, second]) {
      expect(socket.sent('welcome')[0]?.resourceCaps).toEqual({ memoryBytes: 64 * mib });
    }
    expect(reads()).toBe(1);
  });

  it("keeps an agent's report, and sends changed caps to the region's agents and the other nodes", async () => {
    const { hub, sessions, notifications, regions, greeted } = setupWithCaps();
    const socket = await greeted('mi-1');
    socket.receive({ type: 'resource-usage', state: 'applied', mechanism: 'cgroup2', memoryBytes: 64 * mib });
    const kept = await waitFor('the report', () => sessions.resourceReports[0]);
    expect(kept).toEqual({
      instanceId: 'mi-1',
      report: { type: 'resource-usage', state: 'applied', mechanism: 'cgroup2', memoryBytes: 64 * mib },
    });
    regions.set('cn-hangzhou', { memoryLimit: '64MB', memoryLimitBytes: 64 * mib, cpuLimit: 20 });
    hub.resourceUsageChanged('cn-hangzhou');
    const order = await waitFor('the order', () => socket.sent('resource-caps')[0]);
    expect(order.caps).toEqual({ memoryBytes: 64 * mib, cpuPercent: 20 });
    expect(notifications.published.map((payload) => JSON.parse(payload))).toContainEqual({
      kind: 'resource-usage-config',
      from: 'node-a',
      regionId: 'cn-hangzhou',
    });
    // Another node's change reaches this node's agents; a change elsewhere sends nothing here.
    regions.delete('cn-hangzhou');
    await hub.listen();
    notifications.deliver(
      JSON.stringify({ kind: 'resource-usage-config', from: 'node-b', regionId: 'cn-hangzhou' }),
    );
    await waitFor('the second order', () => socket.sent('resource-caps')[1]);
    expect(socket.sent('resource-caps')[1]?.caps).toEqual({});
    hub.resourceUsageChanged('cn-beijing');
    await nextTurn();
    expect(socket.sent('resource-caps')).toHaveLength(2);
  });

  it('keeps the caps of a failed read from reaching agents, so none lifts what it applied', async () => {
    const sessions = new FakeSessions();
    const logger = pino({ level: 'silent' });
    let failing = true;
    const settings = {
      resourceUsageByRegion: async () => {
        if (failing) throw new Error('database gone');
        return new Map<string, ResourceUsageConfig>();
      },
    };
    const hub = new AgentHub({
      sessions,
      bus: new NodeBus(new FakeNotifications(), 'node-a', logger),
      logger,
      heartbeatSeconds: 20,
      nowMs: Date.now,
      resourceCaps: new ResourceCapsSource(settings, logger),
    });
    hubs.push(hub);
    const socket = new FakeSocket();
    hub.attach(socket, fakeInstance('mi-1'));
    socket.receive(hello());
    const welcome = await waitFor('the welcome', () => socket.sent('welcome')[0]);
    expect(welcome).not.toHaveProperty('resourceCaps');
    hub.resourceUsageChanged('cn-hangzhou');
    await nextTurn();
    expect(socket.sent('resource-caps')).toEqual([]);
    failing = false;
    hub.resourceUsageChanged('cn-hangzhou');
    const order = await waitFor('the order', () => socket.sent('resource-caps')[0]);
    expect(order.caps).toEqual({});
  });
});
