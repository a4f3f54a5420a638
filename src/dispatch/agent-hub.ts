import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import { rawErrorResponse } from '../api/error-response.js';
import type { AgentSelf } from '../domain/agent-upgrade.js';
import { ApiError } from '../domain/errors.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { newRequestId } from '../domain/ids.js';
import type { Invocation } from '../domain/invocation.js';
import { closeCodes } from '../protocol/close-codes.js';
import {
  type AgentMessage,
  channelPath,
  maxFrameBytes,
  parseAgentMessage,
  protocolVersion,
  type ServerMessage,
} from '../protocol/messages.js';
import { type AgentChannels, type InstanceService, ThrottledError } from '../service/instances.js';
import type { InvocationService, TaskDispatcher } from '../service/invocations.js';
import { isStorageFull } from '../store/storage-errors.js';
import type { Store } from '../store/store.js';
import { type OfferTarget, offerIntervalMs, type UpgradeOffers } from './upgrade-offers.js';

export interface HubDeps {
  readonly store: Store;
  readonly instances: InstanceService;
  readonly invocations: InvocationService;
  readonly logger: FastifyBaseLogger;
  readonly heartbeatSeconds: number;
  readonly nowMs: () => number;
  /** This server node's id: other nodes reach its agents through the store's notifications. */
  readonly nodeId: string;
  /** Offers of the server's executable to agents older than it (AgentUpgradeConfig). */
  readonly upgrades?: UpgradeOffers;
}

/** What one node asks another about agents it holds (JSON over the store's notifications). */
type NodeMessage =
  | { readonly kind: 'wake'; readonly from: string; readonly instanceIds: readonly string[] }
  | {
      readonly kind: 'cancel';
      readonly from: string;
      readonly instanceId: string;
      readonly invokeId: string;
      readonly terminationMode: 'Process' | 'ProcessTree';
    }
  | { readonly kind: 'close'; readonly from: string; readonly instanceId: string }
  /** A region's AgentUpgradeConfig changed: every node offers the upgrade to its agents there. */
  | { readonly kind: 'upgrade-config'; readonly from: string; readonly regionId: string };

// Every node looks for work of its agents this often, so a lost notification only delays it.
const sweepIntervalMs = 5_000;

type EventMessage = Extract<AgentMessage, { type: 'event' }>;

/** Splits events into runs of consecutive events of the same run (invocation and execution). */
function runsOf(messages: readonly EventMessage[]): EventMessage[][] {
  const runs: EventMessage[][] = [];
  let last: EventMessage | undefined;
  for (const message of messages) {
    const sameRun =
      last !== undefined &&
      last.invokeId === message.invokeId &&
      (last.execution ?? 0) === (message.execution ?? 0);
    if (sameRun) runs.at(-1)?.push(message);
    else runs.push([message]);
    last = message;
  }
  return runs;
}

/** Tasks in flight on a connection are told apart by invocation and run. */
const runKey = (invokeId: string, execution: number): string => `${invokeId}#${execution}`;

// A connection must say hello this soon after it opens.
const helloTimeoutMs = 10_000;

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

/** Answers a refused upgrade with the API's error body, so the agent can say why it was refused. */
function refuseUpgrade(
  request: IncomingMessage,
  socket: Duplex,
  error: ApiError,
  headers: Record<string, string> = {},
): void {
  socket.end(rawErrorResponse(error, { requestId: newRequestId(), host: request.headers.host }, headers));
}

/** One agent's open channel on this node. */
class AgentConnection {
  instance: ManagedInstance;
  lastSeenMs: number;
  greeted = false;
  /** A hello arrived (it may still wait in the queue): a second one on the same channel is refused. */
  saidHello = false;
  /** Closed or being closed: whatever waits in the queue for it is dropped. */
  closed = false;
  /** Tasks sent on this connection and not yet accepted, so repeated wake-ups do not resend them. */
  readonly sent = new Set<string>();
  /** Agent messages are handled one at a time, in order: output offsets depend on it. */
  queue: Promise<void> = Promise.resolve();
  /** Events received and not yet being applied: applied together, in order, when the queue reaches them. */
  openBatch: { events: EventMessage[]; bytes: number } | undefined;
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
    readonly socket: WebSocket,
    instance: ManagedInstance,
    nowMs: number,
  ) {
    this.instance = instance;
    this.lastSeenMs = nowMs;
  }

  /** What the agent said of itself in its hello (the upgrade offers need it). */
  self: AgentSelf | undefined;

  /** Sends a frame; drops the channel once the agent leaves too much of what it was sent unread. */
  send(message: ServerMessage): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(JSON.stringify(message));
    if (this.socket.bufferedAmount > channelLimits.maxUnreadBytes)
      this.cut('the agent does not read its channel');
  }

  /**
   * Sends a frame, waiting first while the agent has much unread (a long list of tasks goes at the
   * pace the agent reads); past `waitMs` without it reading, the channel is dropped.
   */
  async sendPaced(message: ServerMessage, waitMs: number): Promise<void> {
    if (this.socket.bufferedAmount <= channelLimits.sendPauseBytes) return this.send(message);
    if (this.socket.readyState !== this.socket.OPEN) return;
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
    if (this.closed && this.socket.readyState === this.socket.CLOSED) return;
    this.closed = true;
    this.onCut(reason);
    this.socket.terminate();
  }

  /** Set by the hub: logs why a channel was dropped. */
  onCut: (reason: string) => void = () => {};

  /** Counts a received message into the queue; a full queue stops reading the socket. */
  take(bytes: number): void {
    this.queuedBytes += bytes;
    if (!this.paused && this.queuedBytes > channelLimits.queuedHighBytes) {
      this.paused = true;
      this.socket.pause();
    }
  }

  /** A received message has been handled; the channel reads again once the queue is short. */
  handled(bytes: number): void {
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

/**
 * The agents connected to this server node: authenticates channels, delivers tasks and
 * cancellations, applies and acknowledges agent events, and notices silent agents.
 */
export class AgentHub implements AgentChannels, TaskDispatcher {
  private readonly connections = new Map<string, AgentConnection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    perMessageDeflate: false,
  });
  private readonly liveness: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private readonly offerer: NodeJS.Timeout;
  private unlisten: (() => Promise<void>) | undefined;

  /** How long a delivery waits for an agent to read what it was sent: as long as a silent agent is kept. */
  private readonly drainWaitMs: number;

  constructor(private readonly deps: HubDeps) {
    const heartbeatMs = deps.heartbeatSeconds * 1000;
    this.drainWaitMs = 3 * heartbeatMs;
    // An agent is offline after three missed heartbeats (DESIGN §2.3).
    this.liveness = setInterval(() => this.dropSilent(3 * heartbeatMs), Math.min(heartbeatMs, 5_000));
    this.liveness.unref();
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
    this.offerer = setInterval(() => this.offerUpgrades('periodic'), offerIntervalMs);
    this.offerer.unref();
  }

  /** Listens to the other nodes (PostgreSQL); after a lost subscription, sweeps for what was missed. */
  async listen(): Promise<void> {
    this.unlisten = await this.deps.store.notifications.listen(
      (payload) => this.onNodeMessage(payload),
      () => this.sweep(),
    );
  }

  get connectedCount(): number {
    return this.connections.size;
  }

  /** Delivers whatever waits for this node's agents (tasks, cancellations): one query per 500 agents. */
  private sweep(): void {
    const ids = [...this.connections.keys()];
    for (let at = 0; at < ids.length; at += 500) {
      this.deps.store.invocations
        .withWork(ids.slice(at, at + 500))
        .then((due) => this.wakeLocal(due, true))
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'delivery sweep failed'));
    }
  }

  private publish(message: NodeMessage): void {
    this.deps.store.notifications
      .publish(JSON.stringify(message))
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'notifying the other nodes failed'));
  }

  private onNodeMessage(payload: string): void {
    let message: NodeMessage;
    try {
      message = JSON.parse(payload) as NodeMessage;
    } catch {
      return;
    }
    if (message.from === this.deps.nodeId) return;
    switch (message.kind) {
      case 'wake':
        this.wakeLocal(message.instanceIds, false);
        return;
      case 'cancel':
        this.connections
          .get(message.instanceId)
          ?.send({ type: 'cancel', invokeId: message.invokeId, terminationMode: message.terminationMode });
        return;
      case 'close':
        this.connections.get(message.instanceId)?.shut(closeCodes.deregistered, 'instance deregistered');
        return;
      case 'upgrade-config':
        this.offerUpgrades('changed', message.regionId);
        return;
    }
  }

  /** Handles an HTTP upgrade; returns false when the path is not the agent channel. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    if ((request.url ?? '').split('?')[0] !== channelPath) return false;
    const instanceId = String(request.headers['x-openassist-instance-id'] ?? '');
    const token = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
    const address = request.socket.remoteAddress ?? '';
    this.deps.instances.admitChannel(instanceId, token, address).then(
      (admission) => {
        if ('admitted' in admission) {
          const instance = admission.admitted;
          this.wss.handleUpgrade(request, socket, head, (ws) => this.attach(ws, instance));
        } else if (admission.refused === 'throttled') {
          refuseUpgrade(request, socket, new ThrottledError(admission.retryAfterSeconds), {
            'Retry-After': String(admission.retryAfterSeconds),
          });
        } else {
          refuseUpgrade(request, socket, new ApiError('InvalidToken.Agent'));
        }
      },
      (error: unknown) => {
        this.deps.logger.error({ err: error }, 'agent authentication failed');
        refuseUpgrade(request, socket, new ApiError('ServiceUnavailable'));
      },
    );
    return true;
  }

  private attach(socket: WebSocket, instance: ManagedInstance): void {
    const previous = this.connections.get(instance.id);
    if (previous) previous.shut(closeCodes.replaced, 'replaced by a newer connection');
    const connection = new AgentConnection(socket, instance, this.deps.nowMs());
    this.connections.set(instance.id, connection);
    const log = this.deps.logger.child({ instanceId: instance.id });
    const helloTimer = setTimeout(() => {
      if (!connection.greeted) connection.shut(closeCodes.noHello, 'no hello');
    }, helloTimeoutMs);
    connection.onCut = (reason) => log.warn({ reason }, 'agent channel dropped');
    socket.on('message', (data, isBinary) => {
      // A channel being closed is heard no more (a hostile agent keeps sending after the close).
      if (connection.closed) return;
      connection.lastSeenMs = this.deps.nowMs();
      const message = isBinary ? undefined : parseAgentMessage(data.toString());
      if (!message || (message.type === 'hello' && connection.saidHello)) {
        log.warn(
          message ? 'second hello on a channel; closing it' : 'malformed agent message; closing the channel',
        );
        connection.shut(closeCodes.malformed, message ? 'hello twice' : 'malformed message');
        return;
      }
      if (message.type === 'hello') connection.saidHello = true;
      // With the default binary type a frame arrives as one Buffer.
      const bytes = (data as Buffer).length;
      connection.take(bytes);
      if (message.type === 'event') {
        // A burst of events joins the batch still waiting in the queue, keeping the order of messages.
        if (connection.openBatch) {
          connection.openBatch.events.push(message);
          connection.openBatch.bytes += bytes;
          return;
        }
        const batch = { events: [message], bytes };
        connection.openBatch = batch;
        connection.queue = connection.queue
          .then(() => {
            if (connection.openBatch === batch) connection.openBatch = undefined;
            return connection.closed ? undefined : this.applyEvents(connection, batch.events);
          })
          .then(
            () => connection.handled(batch.bytes),
            (error: unknown) => {
              connection.handled(batch.bytes);
              log.error({ err: error }, 'agent message failed');
            },
          );
        return;
      }
      connection.openBatch = undefined;
      connection.queue = connection.queue
        .then(() => (connection.closed ? undefined : this.handle(connection, message)))
        .then(
          () => connection.handled(bytes),
          (error: unknown) => {
            connection.handled(bytes);
            log.error({ err: error, storageFull: isStorageFull(error) }, 'agent message failed');
            // A hello not recorded leaves a channel that serves nothing: the agent connects again.
            if (message.type === 'hello')
              connection.shut(closeCodes.notStored, 'hello not recorded; connect again');
          },
        );
    });
    socket.on('close', () => {
      connection.closed = true;
      clearTimeout(helloTimer);
      if (this.connections.get(instance.id) !== connection) return;
      this.connections.delete(instance.id);
      this.deps.store.instances
        .disconnected(instance.id, this.deps.nodeId)
        .catch((error: unknown) => log.error({ err: error }, 'marking the instance offline failed'));
      log.info('agent disconnected');
    });
    socket.on('error', (error) => log.warn({ err: error }, 'agent channel error'));
  }

  private async handle(connection: AgentConnection, message: AgentMessage): Promise<void> {
    const { instance } = connection;
    switch (message.type) {
      case 'hello': {
        if (message.protocolVersion > protocolVersion) {
          connection.shut(
            closeCodes.protocolRefused,
            `this server speaks agent protocol ${protocolVersion}; use an agent of that version`,
          );
          return;
        }
        const { rebooted } = await this.deps.store.instances.hello(instance.id, {
          bootId: message.bootId.slice(0, 64),
          hostname: message.hostname.slice(0, 255),
          osVersion: message.osVersion.slice(0, 255),
          agentVersion: message.agentVersion.slice(0, 64),
          timeZone: message.timeZone.slice(0, 64),
          shells: message.shells.slice(0, 10).map((shell) => shell.slice(0, 32)),
          atMs: this.deps.nowMs(),
          nodeId: this.deps.nodeId,
        });
        connection.instance = (await this.deps.store.instances.find(instance.id)) ?? instance;
        connection.self = { version: message.agentVersion, osType: message.osType, arch: message.arch };
        const dropped = await this.deps.invocations.greeted(instance.id, rebooted, {
          schedules: message.schedules,
          runs: message.runs,
        });
        connection.greeted = true;
        connection.send({
          type: 'welcome',
          instanceId: instance.id,
          heartbeatSeconds: this.deps.heartbeatSeconds,
        });
        // Schedules the agent holds that the server has ended (or never knew): the agent drops them.
        // At most `messageLimits.heldEntries`, each once: a hello is answered by a bounded reply.
        for (const invokeId of dropped)
          connection.send({ type: 'cancel', invokeId, terminationMode: 'ProcessTree' });
        if (rebooted)
          this.deps.logger.info({ instanceId: instance.id }, 'instance rebooted; reboot tasks armed');
        this.deps.logger.info(
          { instanceId: instance.id, agentVersion: message.agentVersion },
          'agent connected',
        );
        void this.deliver(connection, true);
        const target = this.offerTarget(connection);
        if (target) {
          this.deps.upgrades
            ?.offerOnHello(target)
            .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'upgrade offer failed'));
        }
        return;
      }
      case 'heartbeat':
        await this.deps.store.instances.heartbeat(instance.id, this.deps.nowMs());
        return;
      case 'shutdown':
        await this.deps.store.instances.stopped(instance.id);
        this.deps.logger.info({ instanceId: instance.id }, 'instance shutting down');
        return;
      case 'event':
        return this.applyEvents(connection, [message]);
    }
  }

  /**
   * Applies events in order, each run's consecutive events in one transaction, and acknowledges
   * each once it is stored. A failure refuses the rest of the channel (`refuseEvents`).
   */
  private async applyEvents(connection: AgentConnection, messages: readonly EventMessage[]): Promise<void> {
    if (!connection.greeted || connection.refused) return;
    for (const run of runsOf(messages)) {
      const first = run[0] as EventMessage;
      const execution = first.execution ?? 0;
      let live: boolean[];
      try {
        live = await this.deps.invocations.applyEvents(
          connection.instance.id,
          first.invokeId,
          execution,
          run.map((message) => message.event),
        );
      } catch (error) {
        this.refuseEvents(connection, error);
        return;
      }
      run.forEach((message, i) => {
        if (message.event.kind === 'accepted') connection.sent.delete(runKey(message.invokeId, execution));
        if (!live[i])
          connection.send({ type: 'cancel', invokeId: message.invokeId, terminationMode: 'ProcessTree' });
        connection.acknowledge(message.eventId);
      });
    }
  }

  /**
   * An event could not be stored (a full disk, a lost database): it and every later event on this
   * channel stay unacknowledged, so the agent keeps them; closing the channel makes it send them
   * again, in order, once it is back (its reconnect backoff paces the retries).
   */
  private refuseEvents(connection: AgentConnection, error: unknown): void {
    connection.refused = true;
    this.deps.logger.error(
      { err: error, instanceId: connection.instance.id, storageFull: isStorageFull(error) },
      'storing an agent event failed; closing the channel so the agent sends it again',
    );
    connection.flushAcks();
    connection.shut(closeCodes.notStored, 'event not stored; send it again');
  }

  /**
   * Sends an instance's undelivered tasks and, with `stopping`, its pending cancellations; one pass
   * at a time per connection.
   */
  private deliver(connection: AgentConnection, stopping: boolean): Promise<void> {
    connection.checkStopping ||= stopping;
    if (connection.delivering) {
      connection.deliverAgain = true;
      return connection.delivering;
    }
    connection.delivering = (async () => {
      do {
        connection.deliverAgain = false;
        const checkStopping = connection.checkStopping;
        connection.checkStopping = false;
        const { instance } = connection;
        for (const result of await this.deps.store.invocations.undelivered(instance.id)) {
          if (connection.closed) return;
          const key = runKey(result.invocation.id, result.run.execution);
          if (connection.sent.has(key)) continue;
          connection.sent.add(key);
          const task = await this.deps.invocations.taskFor(result.invocation, result.run.execution, instance);
          await connection.sendPaced({ type: 'task', task }, this.drainWaitMs);
        }
        if (!checkStopping) continue;
        const stopping = new Map(
          (await this.deps.store.invocations.stopping(instance.id)).map(({ invocation }) => [
            invocation.id,
            invocation.terminationMode,
          ]),
        );
        for (const [invokeId, terminationMode] of stopping) {
          await connection.sendPaced({ type: 'cancel', invokeId, terminationMode }, this.drainWaitMs);
        }
      } while (connection.deliverAgain && !connection.closed);
    })()
      .catch((error: unknown) =>
        this.deps.logger.error({ err: error, instanceId: connection.instance.id }, 'delivery failed'),
      )
      .finally(() => {
        connection.delivering = undefined;
      });
    return connection.delivering;
  }

  /**
   * Delivers to the agents held here and asks the other nodes to deliver to theirs. A `created`
   * invocation's task goes to the agents held here at once, as it is, without reading the store.
   */
  wake(instanceIds: readonly string[], created?: Invocation): void {
    const elsewhere = this.wakeLocal(instanceIds, false, created);
    if (elsewhere.length > 0) this.publish({ kind: 'wake', from: this.deps.nodeId, instanceIds: elsewhere });
  }

  /**
   * Delivers to the agents held here; returns the ids of those that are not. `stopping`: a sweep
   * also looks for cancellations; a wake for new tasks need not (StopInvocation cancels directly).
   */
  private wakeLocal(instanceIds: readonly string[], stopping: boolean, created?: Invocation): string[] {
    const elsewhere: string[] = [];
    for (const id of instanceIds) {
      const connection = this.connections.get(id);
      if (!connection?.greeted) elsewhere.push(id);
      else if (created) void this.push(connection, created);
      else void this.deliver(connection, stopping);
    }
    return elsewhere;
  }

  /** Sends row 0 of a new invocation; one that fails waits for the next delivery pass (the sweep). */
  private async push(connection: AgentConnection, invocation: Invocation): Promise<void> {
    const key = runKey(invocation.id, 0);
    if (connection.sent.has(key)) return;
    // An agent with much unread gets its tasks from a delivery pass, at the pace it reads.
    if (connection.socket.bufferedAmount > channelLimits.sendPauseBytes) {
      void this.deliver(connection, false);
      return;
    }
    connection.sent.add(key);
    try {
      connection.send({
        type: 'task',
        task: await this.deps.invocations.taskFor(invocation, 0, connection.instance),
      });
    } catch (error) {
      connection.sent.delete(key);
      this.deps.logger.error({ err: error, instanceId: connection.instance.id }, 'delivery failed');
    }
  }

  cancel(instanceId: string, invokeId: string, terminationMode: 'Process' | 'ProcessTree'): void {
    const connection = this.connections.get(instanceId);
    if (connection) connection.send({ type: 'cancel', invokeId, terminationMode });
    else this.publish({ kind: 'cancel', from: this.deps.nodeId, instanceId, invokeId, terminationMode });
  }

  close(instanceId: string): void {
    const connection = this.connections.get(instanceId);
    if (connection) connection.shut(closeCodes.deregistered, 'instance deregistered');
    else this.publish({ kind: 'close', from: this.deps.nodeId, instanceId });
  }

  /** A region's AgentUpgradeConfig changed: offer to the agents held here, and tell the other nodes. */
  upgradeConfigChanged(regionId: string): void {
    this.offerUpgrades('changed', regionId);
    this.publish({ kind: 'upgrade-config', from: this.deps.nodeId, regionId });
  }

  private offerTarget(connection: AgentConnection): OfferTarget | undefined {
    const { self } = connection;
    if (!self || !connection.greeted || connection.closed) return undefined;
    return {
      regionId: connection.instance.regionId,
      self,
      send: (offer) => connection.send(offer),
    };
  }

  /** Offers the server's executable to the agents held here that are older (of one region, when given). */
  private offerUpgrades(trigger: 'changed' | 'periodic', regionId?: string): void {
    const upgrades = this.deps.upgrades;
    if (!upgrades || this.connections.size === 0) return;
    const targets = [...this.connections.values()]
      .map((connection) => this.offerTarget(connection))
      .filter((target): target is OfferTarget => target !== undefined);
    upgrades
      .offerAll(targets, trigger, regionId)
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'upgrade offers failed'));
  }

  /** Drops agents not heard for `silenceMs`, and pings the rest so they can tell a dead server too. */
  private dropSilent(silenceMs: number): void {
    const now = this.deps.nowMs();
    for (const connection of this.connections.values()) {
      if (now - connection.lastSeenMs > silenceMs) connection.socket.terminate();
      else if (connection.socket.readyState === connection.socket.OPEN) connection.socket.ping();
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.liveness);
    clearInterval(this.sweeper);
    clearInterval(this.offerer);
    await this.unlisten?.();
    for (const connection of this.connections.values())
      connection.socket.close(closeCodes.goingAway, 'server stopping');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
