import { describe, expect, it } from 'vitest';
import { closeCodes } from '../protocol/close-codes.js';
import type { AgentMessage, ServerMessage } from '../protocol/messages.js';
import {
  AgentChannel,
  type ChannelClock,
  type ChannelOptions,
  type ChannelSocket,
  type Order,
  type SocketEvents,
} from './channel.js';
import type { JournalEvent } from './journal.js';

/** Time that moves only when told; timers due on the way run in order. */
class FakeClock implements ChannelClock {
  now = 1_000_000;
  chance = 0.5;
  private timers: { atMs: number; run: () => void; everyMs: number }[] = [];
  readonly nowMs = () => this.now;
  readonly random = () => this.chance;
  readonly after = (ms: number, run: () => void) => this.add(ms, run, 0);
  readonly every = (ms: number, run: () => void) => this.add(ms, run, ms);

  private add(ms: number, run: () => void, everyMs: number) {
    const timer = { atMs: this.now + ms, run, everyMs };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((other) => other !== timer);
    };
  }

  /** When the next timer is due, if any. */
  nextDueMs(): number | undefined {
    return this.timers.reduce<number | undefined>(
      (soonest, timer) => Math.min(timer.atMs, soonest ?? timer.atMs),
      undefined,
    );
  }

  advance(ms: number): void {
    const endMs = this.now + ms;
    for (;;) {
      const due = this.timers.filter((timer) => timer.atMs <= endMs).sort((a, b) => a.atMs - b.atMs)[0];
      if (!due) break;
      this.now = due.atMs;
      if (due.everyMs > 0) due.atMs += due.everyMs;
      else this.timers = this.timers.filter((timer) => timer !== due);
      due.run();
    }
    this.now = endMs;
  }
}

/** One connection opened by the channel; the test plays the server and the network. */
class FakeSocket implements ChannelSocket {
  readonly sent: AgentMessage[] = [];
  closedWith: { code: number; reason: string } | undefined;
  terminated = false;
  constructor(
    readonly url: URL,
    readonly addressTurn: number,
    readonly events: SocketEvents,
  ) {}
  send(text: string): void {
    this.sent.push(JSON.parse(text));
  }
  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }
  terminate(): void {
    this.terminated = true;
    this.events.closed(1006, '');
  }
  /** The server says `message`. */
  hear(message: ServerMessage): void {
    this.events.message(JSON.stringify(message));
  }
  types(): string[] {
    return this.sent.map((message) => message.type);
  }
}

function eventOf(eventId: string): JournalEvent {
  return { eventId, invokeId: 't-1', execution: 0, event: { kind: 'started', atMs: 1 } };
}

function setUp(overrides: Partial<ChannelOptions> = {}) {
  const clock = new FakeClock();
  const sockets: FakeSocket[] = [];
  const journalEvents = [eventOf('e1'), eventOf('e2')];
  const said: string[] = [];
  const rejected: string[] = [];
  const orders: Order[] = [];
  let welcomes = 0;
  let losses = 0;
  const channel = new AgentChannel({
    instanceId: 'mi-1',
    serverUrls: ['http://a.test:8080', 'https://b.test'],
    openSocket: ({ url, addressTurn }, events) => {
      const socket = new FakeSocket(url, addressTurn, events);
      sockets.push(socket);
      return socket;
    },
    clock,
    journal: {
      unacknowledged: () => journalEvents,
      acknowledge: (eventIds) => {
        for (const eventId of eventIds) {
          const at = journalEvents.findIndex((event) => event.eventId === eventId);
          if (at >= 0) journalEvents.splice(at, 1);
        }
      },
    },
    hello: () => ({
      type: 'hello',
      protocolVersion: 7,
      agentVersion: '1.0.0',
      bootId: 'boot',
      hostname: 'h',
      osType: 'linux',
      osVersion: 'test',
      timeZone: 'UTC',
      shells: [],
    }),
    activeTasks: () => 3,
    onWelcome: () => welcomes++,
    onOrder: (order) => orders.push(order),
    onLost: () => losses++,
    onRejected: (why) => rejected.push(why),
    say: (line) => said.push(line),
    ...overrides,
  });
  const last = (): FakeSocket => {
    const socket = sockets.at(-1);
    if (!socket) throw new Error('no connection opened');
    return socket;
  };
  /** Opens the next connection and has the server welcome it. */
  const welcome = (heartbeatSeconds = 20) => {
    last().events.opened();
    last().hear({ type: 'welcome', instanceId: 'mi-1', heartbeatSeconds });
  };
  /** Time until the next connection opens (the reconnect delay), to the millisecond; undefined: none within a minute. */
  const nextAttemptMs = () => {
    const before = sockets.length;
    const startMs = clock.now;
    for (
      let dueMs = clock.nextDueMs();
      dueMs !== undefined && dueMs - startMs <= 60_000;
      dueMs = clock.nextDueMs()
    ) {
      clock.advance(dueMs - clock.now);
      if (sockets.length > before) return clock.now - startMs;
    }
    return undefined;
  };
  return {
    channel,
    clock,
    sockets,
    journalEvents,
    said,
    rejected,
    orders,
    last,
    welcome,
    nextAttemptMs,
    counts: () => ({ welcomes, losses }),
  };
}

describe('the agent channel: hello, welcome, heartbeats (docs/agent-protocol.md, Channel)', () => {
  it('says hello first on every connection, beats every heartbeatSeconds after the welcome', () => {
    const t = setUp();
    t.channel.start();
    expect(t.last().url.href).toBe('ws://a.test:8080/agent/v1/channel');
    t.last().events.opened();
    expect(t.last().types()).toEqual(['hello']);
    t.clock.advance(30_000);
    expect(t.last().types()).toEqual(['hello']);
    t.last().hear({ type: 'welcome', instanceId: 'mi-1', heartbeatSeconds: 5 });
    expect(t.channel.ready).toBe(true);
    expect(t.counts().welcomes).toBe(1);
    t.last().sent.length = 0;
    t.last().events.pinged();
    t.clock.advance(10_000);
    expect(t.last().sent.filter((m) => m.type === 'heartbeat')).toEqual([
      { type: 'heartbeat', activeTasks: 3 },
      { type: 'heartbeat', activeTasks: 3 },
    ]);
  });

  it("sends the agent's health with each heartbeat, read when the beat goes out", () => {
    let pendingEvents = 1;
    const t = setUp({ health: () => ({ journalBytes: 8192, pendingEvents: pendingEvents++ }) });
    t.channel.start();
    t.welcome(5);
    t.last().sent.length = 0;
    t.clock.advance(10_000);
    expect(t.last().sent.filter((m) => m.type === 'heartbeat')).toEqual([
      { type: 'heartbeat', activeTasks: 3, health: { journalBytes: 8192, pendingEvents: 1 } },
      { type: 'heartbeat', activeTasks: 3, health: { journalBytes: 8192, pendingEvents: 2 } },
    ]);
  });

  it('hands tasks, cancels and upgrades to its owner; malformed frames are ignored', () => {
    const t = setUp();
    t.channel.start();
    t.welcome();
    const cancel: Order = { type: 'cancel', invokeId: 't-9', terminationMode: 'Process' };
    t.last().hear(cancel);
    t.last().events.message('{"type":"cancel"}');
    t.last().events.message('not json');
    expect(t.orders).toEqual([cancel]);
  });
});

describe('the agent channel: events until acknowledged (Guarantees: a finished result is never lost)', () => {
  it('sends nothing before the welcome, then every unacknowledged event, oldest first', () => {
    const t = setUp();
    t.channel.start();
    t.last().events.opened();
    t.channel.emit(eventOf('e3'));
    expect(t.last().types()).toEqual(['hello']);
    t.last().hear({ type: 'welcome', instanceId: 'mi-1', heartbeatSeconds: 20 });
    const sentIds = () => t.last().sent.flatMap((m) => (m.type === 'event' ? [m.eventId] : []));
    expect(sentIds()).toEqual(['e1', 'e2']);
    // Sent once per connection while unacknowledged.
    t.channel.emit(eventOf('e1'));
    t.channel.emit(eventOf('e3'));
    expect(sentIds()).toEqual(['e1', 'e2', 'e3']);
    t.last().hear({ type: 'ack', eventIds: ['e1'] });
    expect(t.journalEvents.map((event) => event.eventId)).toEqual(['e2']);
  });

  it('sends the unacknowledged ones again on the next connection', () => {
    const t = setUp();
    t.channel.start();
    t.welcome();
    t.last().events.closed(closeCodes.notStored, 'event not stored; send it again');
    expect(t.channel.ready).toBe(false);
    expect(t.counts().losses).toBe(1);
    t.channel.emit(eventOf('e3'));
    expect(t.nextAttemptMs()).toBe(500);
    t.welcome();
    const event = t.last().sent.find((m) => m.type === 'event');
    expect(event).toEqual({
      type: 'event',
      eventId: 'e1',
      invokeId: 't-1',
      event: { kind: 'started', atMs: 1 },
    });
  });
});

describe('the agent channel: reconnects (backoff, jitter, rotation over servers and addresses)', () => {
  it('backs off from 0.5 s, doubling to 30 s, and starts over after a welcome', () => {
    const t = setUp();
    t.channel.start();
    const delays: (number | undefined)[] = [];
    for (let i = 0; i < 8; i++) {
      t.last().events.closed(1006, '');
      delays.push(t.nextAttemptMs());
    }
    expect(delays).toEqual([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    t.welcome();
    t.last().events.closed(1006, '');
    expect(t.nextAttemptMs()).toBe(500);
    expect(t.counts().losses).toBe(1);
  });

  it('jitters each delay by ±50 %', () => {
    const t = setUp();
    t.channel.start();
    t.clock.chance = 0;
    t.last().events.closed(1006, '');
    expect(t.nextAttemptMs()).toBe(250);
    t.clock.chance = 0.999;
    t.last().events.closed(1006, '');
    expect(t.nextAttemptMs()).toBe(1_499);
  });

  it('goes to the next server on each attempt, and to the next address of a name once round', () => {
    const t = setUp();
    t.channel.start();
    for (let i = 0; i < 4; i++) {
      t.last().events.closed(1006, '');
      t.nextAttemptMs();
    }
    expect(t.sockets.map((s) => `${s.url.href} ${s.addressTurn}`)).toEqual([
      'ws://a.test:8080/agent/v1/channel 0',
      'wss://b.test/agent/v1/channel 0',
      'ws://a.test:8080/agent/v1/channel 1',
      'wss://b.test/agent/v1/channel 1',
      'ws://a.test:8080/agent/v1/channel 2',
    ]);
    expect(t.channel.serverUrl).toBe('http://a.test:8080');
  });

  it('says a certificate problem once, not on every retry', () => {
    const t = setUp({ serverUrls: ['https://a.test'] });
    t.channel.start();
    const untrusted = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    for (let i = 0; i < 2; i++) {
      t.last().events.failed(untrusted);
      t.last().events.closed(1006, '');
      t.nextAttemptMs();
    }
    t.last().events.failed(untrusted);
    expect(t.said).toHaveLength(1);
    expect(t.said[0]).toContain('refusing https://a.test: its certificate cannot be verified');
  });
});

describe('the agent channel: refusals (401, 429 Throttling, 4001, 4003)', () => {
  const throttled = '{"Code":"Throttling","Message":"retry in 12 s"}';

  it('waits at least the Retry-After of a 429, at most 30 s', () => {
    const t = setUp();
    t.channel.start();
    t.last().events.refused(429, '12', throttled);
    t.last().terminate();
    expect(t.nextAttemptMs()).toBe(12_000);
    expect(t.said).toEqual(['the server throttles this address (Throttling); retrying']);
    t.last().events.refused(429, undefined, '');
    t.last().terminate();
    expect(t.nextAttemptMs()).toBe(30_000);
    t.last().events.refused(429, '3600', throttled);
    t.last().terminate();
    expect(t.nextAttemptMs()).toBe(30_000);
  });

  it('stops for good on 401 and on close 4001, saying why', () => {
    const t = setUp();
    t.channel.start();
    t.last().events.refused(401, undefined, '{"Code":"InvalidToken.Agent"}');
    t.last().terminate();
    expect(t.nextAttemptMs()).toBeUndefined();
    expect(t.rejected).toEqual([
      'the server refused mi-1 (InvalidToken.Agent): deregistered? register again',
    ]);

    const u = setUp();
    u.channel.start();
    u.welcome();
    u.last().events.closed(closeCodes.deregistered, 'instance deregistered');
    expect(u.nextAttemptMs()).toBeUndefined();
    expect(u.rejected).toEqual(['mi-1 was deregistered: register again']);
  });

  it('retries a server that refuses its protocol every 30 s, saying so once', () => {
    const t = setUp();
    t.channel.start();
    for (let i = 0; i < 3; i++) {
      t.last().events.opened();
      t.last().events.closed(closeCodes.protocolRefused, 'this server speaks agent protocol 1');
      expect(t.nextAttemptMs()).toBe(30_000);
    }
    expect(t.said).toEqual([
      'the server refused agent protocol 7 (this server speaks agent protocol 1): upgrade the server or run an older agent',
    ]);
  });
});

describe('the agent channel: silence (three heartbeats without a word from the server)', () => {
  it('ends a channel silent for three heartbeats; frames and pings keep it', () => {
    const t = setUp();
    t.channel.start();
    t.welcome(2);
    t.clock.advance(5_000);
    t.last().events.pinged();
    t.clock.advance(5_000);
    t.last().hear({ type: 'ack', eventIds: [] });
    t.clock.advance(5_999);
    expect(t.last().terminated).toBe(false);
    t.clock.advance(1);
    expect(t.last().terminated).toBe(true);
    expect(t.nextAttemptMs()).toBe(500);
  });

  it('waits a minute for the welcome', () => {
    const t = setUp();
    t.channel.start();
    t.last().events.opened();
    t.clock.advance(59_999);
    expect(t.last().terminated).toBe(false);
    t.clock.advance(1);
    expect(t.last().terminated).toBe(true);
  });
});

describe('the agent channel: stopping', () => {
  it('stops beating and reconnecting, keeps the connection for the last events, then closes with 1001', () => {
    const t = setUp();
    t.channel.start();
    t.welcome(1);
    t.channel.stop();
    t.channel.send({ type: 'shutdown' });
    t.channel.emit(eventOf('e9'));
    t.clock.advance(10_000);
    expect(t.last().types().slice(-2)).toEqual(['shutdown', 'event']);
    expect(t.last().terminated).toBe(false);
    t.channel.close('agent stopping');
    expect(t.last().closedWith).toEqual({ code: closeCodes.goingAway, reason: 'agent stopping' });
    t.last().events.closed(closeCodes.goingAway, 'agent stopping');
    expect(t.nextAttemptMs()).toBeUndefined();
  });
});
