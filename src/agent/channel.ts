import { closeCodes } from '../protocol/close-codes.js';
import {
  type AgentHealthReport,
  type AgentMessage,
  channelPath,
  parseServerMessage,
  type ServerMessage,
} from '../protocol/messages.js';
import type { JournalEvent } from './journal.js';
import { certificateProblem, refusalCode } from './server-tls.js';

/**
 * The agent's side of the channel (docs/agent-protocol.md), the one both the agent and the load
 * generator run: connect, hello, heartbeats, events re-sent until acknowledged, reconnects with
 * backoff and jitter over the server URLs, throttling, silence detection. The socket and the clock
 * are injected, so unit tests drive it with fakes.
 */

/** Cancels a timer. */
export type Cancel = () => void;

/** Time, timers and chance: the real ones (`systemClock`) or a test's fake. */
export interface ChannelClock {
  readonly nowMs: () => number;
  readonly after: (ms: number, run: () => void) => Cancel;
  readonly every: (ms: number, run: () => void) => Cancel;
  /** In [0, 1), as Math.random: the reconnect jitter. */
  readonly random: () => number;
}

export const systemClock: ChannelClock = {
  nowMs: Date.now,
  after(ms, run) {
    const timer = setTimeout(run, ms);
    return () => clearTimeout(timer);
  },
  every(ms, run) {
    const timer = setInterval(run, ms);
    return () => clearInterval(timer);
  },
  random: Math.random,
};

/** One connection as the channel sees it (a `ws` WebSocket fits: channel-ws.ts). */
export interface ChannelSocket {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Drops the connection without a closing handshake; `closed` follows. */
  terminate(): void;
}

/** What happens on one connection, told by the socket to the channel; `closed` comes last. */
export interface SocketEvents {
  opened(): void;
  /** A ping: the server is alive (it pings every connection, docs/agent-protocol.md). */
  pinged(): void;
  message(text: string): void;
  /** The server answered the upgrade with an HTTP status (401, 429, …); the socket is terminated after. */
  refused(status: number, retryAfter: string | undefined, body: string): void;
  failed(error: unknown): void;
  closed(code: number, reason: string): void;
}

/** Opens a connection to `url`; a name with several addresses starts at its `addressTurn`-th one. */
export type OpenSocket = (target: { url: URL; addressTurn: number }, events: SocketEvents) => ChannelSocket;

export type Hello = Extract<AgentMessage, { type: 'hello' }>;
/** What the server asks the agent to do (the channel itself handles `welcome` and `ack`). */
export type Order = Exclude<ServerMessage, { type: 'welcome' | 'ack' }>;

/** The journal as the channel needs it: what to send again, what the server took. */
export interface AckJournal {
  unacknowledged(): readonly JournalEvent[];
  acknowledge(eventIds: readonly string[]): void;
}

export interface ChannelOptions {
  readonly instanceId: string;
  /** Tried in turn: each attempt after a failure or a lost channel goes to the next. */
  readonly serverUrls: readonly string[];
  readonly openSocket: OpenSocket;
  readonly clock: ChannelClock;
  readonly journal: AckJournal;
  /** The hello for a connection just opened (read then: the schedules and runs held change). */
  readonly hello: () => Hello;
  /** For the heartbeat. */
  readonly activeTasks: () => number;
  /** The agent's health, sent with each heartbeat (absent: none sent). */
  readonly health?: () => AgentHealthReport;
  /** The welcome, with the caps the server asks of this agent. */
  readonly onWelcome: (welcome: Extract<ServerMessage, { type: 'welcome' }>) => void;
  readonly onOrder: (order: Order) => void;
  /** A welcomed channel is lost (a reconnect follows unless stopped). */
  readonly onLost?: () => void;
  /** The server will never take this identity again (unknown or deregistered): the channel has stopped. */
  readonly onRejected: (why: string) => void;
  readonly say?: (line: string) => void;
}

/**
 * Reconnects back off from half a second, doubling to 30 s, with ±50 % jitter (docs/agent-protocol.md):
 * a fleet that lost its server does not come back in one wave.
 */
export const reconnectBackoff = { firstMs: 500, maxMs: 30_000 } as const;
/** Silence that ends a channel before a first welcome has said the heartbeat; from then on, three heartbeats. */
const silenceBeforeWelcomeMs = 60_000;

export class AgentChannel {
  private socket: ChannelSocket | undefined;
  private welcomed = false;
  private stopped = false;
  private retryMs: number = reconnectBackoff.firstMs;
  /** Attempts so far: which server, and which of its addresses, the next one goes to. */
  private attempt = 0;
  private stopHeartbeat: Cancel | undefined;
  private stopReconnect: Cancel | undefined;
  private stopSilenceCheck: Cancel | undefined;
  private silenceMs = silenceBeforeWelcomeMs;
  /** When the server was last heard: one read of the clock per frame, no timer reset per frame. */
  private lastHeardMs = 0;
  /** Events sent on the current connection and not acknowledged yet: not re-sent on it. */
  private readonly inFlight = new Set<string>();
  /** Said once, not on every retry. */
  private lastProblem = '';
  private saidRefusal = '';
  private helloProtocol = 0;

  constructor(private readonly options: ChannelOptions) {}

  /** Welcomed on the current connection: events go out. */
  get ready(): boolean {
    return this.welcomed;
  }

  /** The server of the current (or next) attempt: upgrades download from it. */
  get serverUrl(): string {
    const servers = this.options.serverUrls;
    return servers[this.attempt % servers.length] ?? '';
  }

  start(): void {
    this.connect();
  }

  /** Sends on the current connection (dropped when there is none). */
  send(message: AgentMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  /** Sends a journalled event once per connection; the welcome sends the unacknowledged ones again. */
  emit(event: JournalEvent): void {
    if (!this.welcomed || this.inFlight.has(event.eventId)) return;
    this.inFlight.add(event.eventId);
    this.send({
      type: 'event',
      eventId: event.eventId,
      invokeId: event.invokeId,
      ...(event.execution > 0 && { execution: event.execution }),
      event: event.event,
    });
  }

  /** No reconnects or heartbeats from now on; the connection stays for the last events (`close`). */
  stop(): void {
    this.stopped = true;
    this.stopReconnect?.();
    this.stopHeartbeat?.();
    this.stopSilenceCheck?.();
  }

  /** Closes the connection as a stopping agent does. */
  close(reason: string): void {
    this.socket?.close(closeCodes.goingAway, reason);
  }

  private connect(): void {
    if (this.stopped) return;
    const servers = this.options.serverUrls;
    const url = new URL(channelPath, this.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const addressTurn = Math.floor(this.attempt / servers.length);
    this.socket = this.options.openSocket({ url, addressTurn }, this.eventsOf());
  }

  private eventsOf(): SocketEvents {
    return {
      opened: () => {
        const hello = this.options.hello();
        this.helloProtocol = hello.protocolVersion;
        this.send(hello);
        this.heard();
        this.watchSilence();
      },
      pinged: () => this.heard(),
      message: (text) => {
        this.heard();
        const message = parseServerMessage(text);
        if (message) this.handle(message);
      },
      refused: (status, retryAfter, body) => this.refused(status, retryAfter, body),
      failed: (error) => {
        // `closed` follows and schedules the retry; a certificate problem is said once, not every retry.
        const problem = certificateProblem(error, this.serverUrl);
        if (problem && problem !== this.lastProblem) this.options.say?.(problem);
        this.lastProblem = problem ?? '';
      },
      closed: (code, reason) => this.closed(code, reason),
    };
  }

  private handle(message: ServerMessage): void {
    switch (message.type) {
      case 'welcome': {
        this.welcomed = true;
        this.retryMs = reconnectBackoff.firstMs;
        const heartbeatMs = message.heartbeatSeconds * 1000;
        this.silenceMs = 3 * heartbeatMs;
        this.watchSilence();
        this.stopHeartbeat?.();
        this.stopHeartbeat = this.options.clock.every(heartbeatMs, () =>
          this.send({
            type: 'heartbeat',
            activeTasks: this.options.activeTasks(),
            ...(this.options.health && { health: this.options.health() }),
          }),
        );
        this.options.onWelcome(message);
        // Whatever the server has not acknowledged goes again, oldest first; it ignores repeats.
        for (const event of this.options.journal.unacknowledged()) this.emit(event);
        return;
      }
      case 'ack':
        this.options.journal.acknowledge(message.eventIds);
        for (const eventId of message.eventIds) this.inFlight.delete(eventId);
        return;
      default:
        this.options.onOrder(message);
    }
  }

  private heard(): void {
    this.lastHeardMs = this.options.clock.nowMs();
  }

  /** Ends a channel on which the server has been silent for `silenceMs` (a half-open TCP connection). */
  private watchSilence(): void {
    this.stopSilenceCheck?.();
    const check = () => {
      const quietMs = this.options.clock.nowMs() - this.lastHeardMs;
      if (quietMs >= this.silenceMs) this.socket?.terminate();
      else this.stopSilenceCheck = this.options.clock.after(this.silenceMs - quietMs, check);
    };
    this.stopSilenceCheck = this.options.clock.after(this.silenceMs, check);
  }

  private refused(status: number, retryAfter: string | undefined, body: string): void {
    const code = refusalCode(status, body);
    if (status === 401) {
      this.stopped = true;
      this.options.onRejected(
        `the server refused ${this.options.instanceId} (${code}): deregistered? register again`,
      );
    } else if (status === 429) {
      // Too many failed attempts from this address: wait at least as long as the server asks.
      const retryAfterMs = Number(retryAfter) * 1000 || reconnectBackoff.maxMs;
      this.retryMs = Math.min(Math.max(this.retryMs, retryAfterMs), reconnectBackoff.maxMs);
      this.options.say?.(`the server throttles this address (${code}); retrying`);
    }
  }

  private closed(code: number, reason: string): void {
    const wasWelcomed = this.welcomed;
    this.welcomed = false;
    this.inFlight.clear();
    this.stopHeartbeat?.();
    this.stopSilenceCheck?.();
    if (wasWelcomed) this.options.onLost?.();
    if (code === closeCodes.deregistered) {
      this.stopped = true;
      this.options.onRejected(`${this.options.instanceId} was deregistered: register again`);
    }
    if (this.stopped) return;
    if (code === closeCodes.protocolRefused) {
      // The server is older than this agent: said once; retried slowly, as the server may be upgraded.
      const problem = `the server refused agent protocol ${this.helloProtocol} (${reason}): upgrade the server or run an older agent`;
      if (problem !== this.saidRefusal) this.options.say?.(problem);
      this.saidRefusal = problem;
      this.retryMs = reconnectBackoff.maxMs;
    }
    this.attempt++;
    this.stopReconnect = this.options.clock.after(this.jittered(this.retryMs), () => this.connect());
    this.retryMs = Math.min(this.retryMs * 2, reconnectBackoff.maxMs);
  }

  private jittered(ms: number): number {
    return Math.round(ms * (0.5 + this.options.clock.random()));
  }
}
