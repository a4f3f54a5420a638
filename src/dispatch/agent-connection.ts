import type { FastifyBaseLogger } from 'fastify';
import { type RawData, WebSocket } from 'ws';
import type { AgentSelf } from '../domain/agent-upgrade.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { closeCodes } from '../protocol/close-codes.js';
import { type AgentMessage, parseAgentMessage, type ServerMessage } from '../protocol/messages.js';
import { isStorageFull } from '../store/storage-errors.js';

export type EventMessage = Extract<AgentMessage, { type: 'event' }>;
export type OtherMessage = Exclude<AgentMessage, EventMessage>;

/** What a connection uses of its WebSocket: `ws` gives it, unit tests give an in-memory fake. */
export interface ChannelSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string, callback?: (error?: Error) => void): void;
  close(code: number, reason: string): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  ping(): void;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Bounds on one agent's channel, so an agent that floods it or stops reading cannot exhaust the server. */
export const channelLimits = {
  /** Bytes of received messages not handled yet: past this the channel stops reading (TCP pushes back) … */
  queuedHighBytes: 4 * 1024 * 1024,
  /** … until the queue is down to this. */
  queuedLowBytes: 1024 * 1024,
  /** Bytes sent and not yet taken by the agent past which delivery waits for it to read … */
  sendPauseBytes: 1024 * 1024,
  /** … and past which the channel is dropped: an agent that does not read its socket. */
  maxUnreadBytes: 8 * 1024 * 1024,
  /** How long a channel being closed may take to say goodbye before it is cut. */
  closeGraceMs: 2_000,
} as const;

/** What a connection does with the messages it receives, one at a time and in order. */
export interface MessageHandler {
  /** A hello, heartbeat or shutdown. */
  handle(connection: AgentConnection, message: OtherMessage): Promise<void>;
  /** Consecutive events, in the order received. */
  applyEvents(connection: AgentConnection, events: readonly EventMessage[]): Promise<void>;
}

/** A frame's size; with the default binary type it arrives as one Buffer. */
function frameBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

/**
 * One agent's open channel on this node: its socket, what it has been sent, and the queue of what
 * it sent that has not been handled yet (with the flow control that bounds that queue).
 */
export class AgentConnection {
  lastSeenMs: number;
  greeted = false;
  /** A hello arrived (it may still wait in the queue): a second one on the same channel is refused. */
  private saidHello = false;
  /** Closed or being closed: whatever waits in the queue for it is dropped. */
  closed = false;
  /** What the agent said of itself in its hello (the upgrade offers need it). */
  self: AgentSelf | undefined;
  /** Tasks sent on this connection and not yet accepted, so repeated wake-ups do not resend them. */
  private readonly sent = new Set<string>();
  /** Agent messages are handled one at a time, in order: output offsets depend on it. */
  private queue: Promise<void> = Promise.resolve();
  /** Events received and not yet being applied: applied together, in order, when the queue reaches them. */
  private openBatch: { events: EventMessage[]; bytes: number } | undefined;
  /** Bytes of messages received and not handled yet (`channelLimits.queuedHighBytes`). */
  private queuedBytes = 0;
  private paused = false;
  delivering: Promise<void> | undefined;
  deliverAgain = false;
  /** Whether the next delivery pass also looks for runs being stopped (new tasks alone need not). */
  checkStopping = false;
  /** Events applied and not acknowledged yet: acknowledged together, one frame per turn. */
  private acks: string[] = [];
  /**
   * An event failed to apply: nothing after it on this channel is applied or acknowledged (its
   * offsets would leave a gap); the channel closes and the agent sends again from that event.
   */
  refused = false;

  constructor(
    readonly socket: ChannelSocket,
    public instance: ManagedInstance,
    private readonly nowMs: () => number,
    readonly log: FastifyBaseLogger,
  ) {
    this.lastSeenMs = nowMs();
  }

  /**
   * Takes one frame from the agent: a malformed one, or a second hello, closes the channel;
   * events join the batch still waiting in the queue, everything else queues on its own.
   */
  receive(data: RawData, isBinary: boolean, handler: MessageHandler): void {
    // A channel being closed is heard no more (a hostile agent keeps sending after the close).
    if (this.closed) return;
    this.lastSeenMs = this.nowMs();
    const message = isBinary ? undefined : parseAgentMessage(data.toString());
    if (!message || (message.type === 'hello' && this.saidHello)) {
      this.log.warn(
        message ? 'second hello on a channel; closing it' : 'malformed agent message; closing the channel',
      );
      this.shut(closeCodes.malformed, message ? 'hello twice' : 'malformed message');
      return;
    }
    if (message.type === 'hello') this.saidHello = true;
    const bytes = frameBytes(data);
    this.take(bytes);
    if (message.type === 'event') {
      if (this.openBatch) {
        this.openBatch.events.push(message);
        this.openBatch.bytes += bytes;
        return;
      }
      const batch = { events: [message], bytes };
      this.openBatch = batch;
      this.queue = this.queue
        .then(() => {
          if (this.openBatch === batch) this.openBatch = undefined;
          return this.closed ? undefined : handler.applyEvents(this, batch.events);
        })
        .then(
          () => this.handled(batch.bytes),
          (error: unknown) => {
            this.handled(batch.bytes);
            this.log.error({ err: error }, 'agent message failed');
          },
        );
      return;
    }
    this.openBatch = undefined;
    this.queue = this.queue
      .then(() => (this.closed ? undefined : handler.handle(this, message)))
      .then(
        () => this.handled(bytes),
        (error: unknown) => {
          this.handled(bytes);
          this.log.error({ err: error, storageFull: isStorageFull(error) }, 'agent message failed');
          // A hello not recorded leaves a channel that serves nothing: the agent connects again.
          if (message.type === 'hello') this.shut(closeCodes.notStored, 'hello not recorded; connect again');
        },
      );
  }

  /** Claims a run's task for sending; false when it was sent already or the channel is closing. */
  claim(invokeId: string, execution: number): boolean {
    const key = runKey(invokeId, execution);
    if (this.closed || this.sent.has(key)) return false;
    this.sent.add(key);
    return true;
  }

  /** A run's task is no longer in flight here (accepted, or it did not go out): it may be sent again. */
  release(invokeId: string, execution: number): void {
    this.sent.delete(runKey(invokeId, execution));
  }

  /** Whether the agent leaves so much unread that a new task should wait for a paced delivery pass. */
  get backedUp(): boolean {
    return this.socket.bufferedAmount > channelLimits.sendPauseBytes;
  }

  /** Sends a frame; drops the channel once the agent leaves too much of what it was sent unread. */
  send(message: ServerMessage): void {
    if (this.socket.readyState !== WebSocket.OPEN) return;
    this.socket.send(JSON.stringify(message));
    if (this.socket.bufferedAmount > channelLimits.maxUnreadBytes)
      this.cut('the agent does not read its channel');
  }

  /**
   * Sends a frame, waiting first while the agent has much unread (a long list of tasks goes at the
   * pace the agent reads); past `waitMs` without it reading, the channel is dropped.
   */
  async sendPaced(message: ServerMessage, waitMs: number): Promise<void> {
    if (!this.backedUp) return this.send(message);
    if (this.socket.readyState !== WebSocket.OPEN) return;
    let timer: NodeJS.Timeout | undefined;
    // The send's callback runs once the frame (and so all before it) has gone to the kernel.
    const flushed = await Promise.race([
      new Promise<boolean>((resolve) => this.socket.send(JSON.stringify(message), () => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (!flushed) this.cut('the agent does not read its channel');
  }

  /** Closes the channel with `code`; one that does not answer the close in time is cut. */
  shut(code: number, reason: string): void {
    this.closed = true;
    this.socket.close(code, reason);
    setTimeout(() => this.socket.terminate(), channelLimits.closeGraceMs).unref();
  }

  /** Drops the channel at once (no goodbye: the agent is not reading anyway). */
  cut(reason: string): void {
    if (this.closed && this.socket.readyState === WebSocket.CLOSED) return;
    this.closed = true;
    this.log.warn({ reason }, 'agent channel dropped');
    this.socket.terminate();
  }

  /** Counts a received message into the queue; a full queue stops reading the socket. */
  private take(bytes: number): void {
    this.queuedBytes += bytes;
    if (!this.paused && this.queuedBytes > channelLimits.queuedHighBytes) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** A received message has been handled; the channel reads again once the queue is short. */
  private handled(bytes: number): void {
    this.queuedBytes -= bytes;
    if (this.paused && this.queuedBytes <= channelLimits.queuedLowBytes) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /** An agent sends a run's events in bursts (started, output, finished): one ack frame answers the burst. */
  acknowledge(eventId: string): void {
    this.acks.push(eventId);
    if (this.acks.length > 1) return;
    setImmediate(() => this.flushAcks());
  }

  /** Sends the acknowledgements gathered so far now (before the channel closes). */
  flushAcks(): void {
    if (this.acks.length === 0) return;
    const eventIds = this.acks;
    this.acks = [];
    this.send({ type: 'ack', eventIds });
  }
}

/** Tasks in flight on a connection are told apart by invocation and run. */
const runKey = (invokeId: string, execution: number): string => `${invokeId}#${execution}`;
