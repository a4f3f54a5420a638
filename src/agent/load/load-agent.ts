import { WebSocket } from 'ws';
import {
  type AgentMessage,
  channelPath,
  maxFrameBytes,
  parseServerMessage,
  protocolVersion,
  type ServerMessage,
} from '../../protocol/messages.js';
import { Executor } from '../executor.js';
import type { HostFacts } from '../host-facts.js';
import type { Identity } from '../identity.js';
import type { JournalEvent } from '../journal.js';
import { Scheduler } from '../scheduler.js';
import { MemoryExecutor, type TaskExecutor } from './memory-executor.js';
import { MemoryJournal } from './memory-journal.js';

/** `memory` answers runs from memory (the control plane alone); `spawn` runs the real runner. */
export type LoadMode = 'memory' | 'spawn';

export interface LoadAgentOptions {
  readonly serverUrl: string;
  readonly identity: Identity;
  readonly mode: LoadMode;
  /** What the hello reports; the hostname is the identity's own. */
  readonly facts: HostFacts;
  readonly hostname: string;
  readonly bootId: string;
  readonly agentVersion: string;
  /** Spawn mode: this identity's own work dir (script files are named by invocation). */
  readonly workDir: string;
  /** Told when the channel is welcomed and when it is lost, for the fleet's counters. */
  readonly onWelcome: () => void;
  readonly onLost: () => void;
}

// The real agent's reconnect backoff (agent.ts): from half a second, doubling to 30 s, ±50 % jitter.
const backoff = { firstMs: 500, maxMs: 30_000 };
const jittered = (ms: number): number => Math.round(ms * (0.5 + Math.random()));

/**
 * One identity of the load generator: a real channel (hello, heartbeats, journalled events re-sent
 * until acknowledged, reconnects with backoff), the real scheduler, and either the real executor
 * or the in-memory one. One process holds thousands of them.
 */
export class LoadAgent {
  private readonly journal = new MemoryJournal();
  private readonly executor: TaskExecutor;
  private readonly scheduler: Scheduler;
  private socket: WebSocket | undefined;
  private ready = false;
  private stopped = false;
  private retryMs = backoff.firstMs;
  private heartbeat: NodeJS.Timeout | undefined;
  private reconnect: NodeJS.Timeout | undefined;
  /** Events sent on this connection and not acknowledged yet: not re-sent on it. */
  private readonly inFlight = new Set<string>();

  constructor(private readonly options: LoadAgentOptions) {
    const emit = (event: JournalEvent) => this.emit(event);
    this.executor =
      options.mode === 'memory'
        ? new MemoryExecutor(this.journal, emit, Date.now)
        : new Executor({ journal: this.journal, emit, workDir: options.workDir, nowMs: Date.now });
    this.scheduler = new Scheduler({
      journal: this.journal,
      executor: this.executor,
      emit,
      nowMs: Date.now,
      timeZone: options.facts.timeZone,
    });
  }

  get instanceId(): string {
    return this.options.identity.instanceId;
  }

  /** Runs that have finished here (a schedule's runs included, its end not). */
  get finishedRuns(): number {
    return this.journal.finishedRuns;
  }

  /** Frames waiting for the end of this turn of the event loop. */
  private outbox: AgentMessage[] = [];

  /**
   * Frames go out at the end of the turn: a thousand identities' schedules due at one instant all
   * fire (and note their start times) first, instead of each waiting behind the others' writes.
   */
  private send(message: AgentMessage): void {
    this.outbox.push(message);
    if (this.outbox.length > 1) return;
    setImmediate(() => {
      const frames = this.outbox;
      this.outbox = [];
      if (this.socket?.readyState !== WebSocket.OPEN) return;
      for (const frame of frames) this.socket.send(JSON.stringify(frame));
    });
  }

  private emit(event: JournalEvent): void {
    if (!this.ready || this.inFlight.has(event.eventId)) return;
    this.inFlight.add(event.eventId);
    this.send({
      type: 'event',
      eventId: event.eventId,
      invokeId: event.invokeId,
      ...(event.execution > 0 && { execution: event.execution }),
      event: event.event,
    });
  }

  private handle(message: ServerMessage, heartbeatEvery: (seconds: number) => void): void {
    switch (message.type) {
      case 'welcome':
        this.ready = true;
        this.retryMs = backoff.firstMs;
        heartbeatEvery(message.heartbeatSeconds);
        this.options.onWelcome();
        for (const event of this.journal.unacknowledged()) this.emit(event);
        return;
      case 'task':
        if (message.task.schedule) this.scheduler.add(message.task);
        else this.executor.submit(message.task);
        return;
      case 'cancel':
        this.scheduler.cancel(message.invokeId);
        this.executor.cancel(message.invokeId, message.terminationMode);
        return;
      case 'ack':
        this.journal.acknowledge(message.eventIds);
        for (const eventId of message.eventIds) this.inFlight.delete(eventId);
        return;
    }
  }

  /** Opens the channel, again after every loss; resolves at the first welcome, rejects if refused for good. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstWelcome = { resolve, reject };
      this.open();
    });
  }

  private firstWelcome: { resolve: () => void; reject: (error: Error) => void } | undefined;

  private open(): void {
    if (this.stopped) return;
    const url = new URL(channelPath, this.options.serverUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const { identity, facts } = this.options;
    const ws = new WebSocket(url, {
      headers: {
        'x-openassist-instance-id': identity.instanceId,
        authorization: `Bearer ${identity.token}`,
      },
      maxPayload: maxFrameBytes,
      perMessageDeflate: false,
    });
    this.socket = ws;
    const heartbeatEvery = (seconds: number) => {
      clearInterval(this.heartbeat);
      this.heartbeat = setInterval(
        () => this.send({ type: 'heartbeat', activeTasks: this.executor.activeCount }),
        seconds * 1000,
      );
    };
    ws.on('open', () =>
      this.send({
        type: 'hello',
        protocolVersion,
        agentVersion: this.options.agentVersion,
        bootId: this.options.bootId,
        hostname: this.options.hostname,
        osType: facts.osType,
        osVersion: facts.osVersion,
        timeZone: facts.timeZone,
        shells: facts.shells,
        schedules: this.scheduler.held(),
      }),
    );
    ws.on('message', (data) => {
      const message = parseServerMessage(data.toString());
      if (!message) return;
      this.handle(message, heartbeatEvery);
      if (message.type === 'welcome') {
        this.firstWelcome?.resolve();
        this.firstWelcome = undefined;
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      if (response.statusCode === 401)
        this.refused(`${identity.instanceId}: the server refused the channel (401)`);
      ws.terminate();
    });
    ws.on('error', () => undefined); // 'close' follows
    ws.on('close', (code) => {
      if (this.ready) this.options.onLost();
      this.ready = false;
      this.inFlight.clear();
      clearInterval(this.heartbeat);
      if (code === 4001) this.refused(`${identity.instanceId} was deregistered`);
      if (this.stopped) return;
      this.reconnect = setTimeout(() => this.open(), jittered(this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, backoff.maxMs);
    });
  }

  /** The server will never take this identity again (unknown or deregistered): it stops. */
  private refused(why: string): void {
    this.stopped = true;
    this.firstWelcome?.reject(new Error(why));
    this.firstWelcome = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnect);
    clearInterval(this.heartbeat);
    this.scheduler.stop();
    await this.executor.stopAll();
    this.socket?.close(1001, 'load generator stopping');
  }
}
