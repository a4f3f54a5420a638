import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { WebSocket, WebSocketServer } from 'ws';
import type { ManagedInstance } from '../domain/fleet.js';
import type { TerminationMode } from '../domain/invocation.js';
import { isClosedReason, type SessionEnd } from '../domain/terminal-session.js';
import { closeCodes } from '../protocol/close-codes.js';
import { maxFrameBytes, protocolVersion, type SessionOpen, type TaskEvent } from '../protocol/messages.js';
import type { AgentSessions } from '../service/agent-sessions.js';
import type { AgentChannels } from '../service/instances.js';
import type { NewTask, TaskDispatcher } from '../service/invocations.js';
import type { RunObserver } from '../service/run-observer.js';
import { isStorageFull } from '../store/storage-errors.js';
import { noTraceSent } from '../telemetry/agent-spans.js';
import type { RunTraces, TracedRun } from '../telemetry/run-traces.js';
import {
  AgentConnection,
  type ChannelSocket,
  type EventMessage,
  type MessageHandler,
  type OtherMessage,
} from './agent-connection.js';
import { admitUpgrade } from './channel-admission.js';
import type { NodeBus, NodeMessage } from './node-bus.js';
import type { ResourceCapsSource } from './resource-caps.js';
import { TaskDelivery } from './task-delivery.js';
import { type OfferTarget, offerIntervalMs, type UpgradeOffers } from './upgrade-offers.js';

export interface HubDeps {
  /** What the hub asks of the services: it never reads the store itself. */
  readonly sessions: Pick<AgentSessions, keyof AgentSessions>;
  /** The other server nodes: they reach the agents held here, and this node theirs, through it. */
  readonly bus: NodeBus;
  readonly logger: FastifyBaseLogger;
  readonly heartbeatSeconds: number;
  readonly nowMs: () => number;
  /** Offers of the server's executable to agents older than it (AgentUpgradeConfig). */
  readonly upgrades?: UpgradeOffers;
  /** The resource caps (ResourceUsageConfig) of each region's agents. */
  readonly resourceCaps?: ResourceCapsSource;
  /** Invocations' traces carried to the agents and back (docs/tracing.md); undefined: tracing is off. */
  readonly traces?: RunTraces | undefined;
  /** The metrics, when the server keeps them: tasks' dispatch latency. */
  readonly observer?: Pick<RunObserver, 'taskSent'>;
}

// Every node looks for work of its agents this often, so a lost notification only delays it.
const sweepIntervalMs = 5_000;
// The sweep asks the store about this many agents per query.
const sweepBatch = 500;
// A connection must say hello this soon after it opens.
const helloTimeoutMs = 10_000;

/** One run's consecutive events in a batch: applied together in one transaction. */
interface RunEvents {
  readonly invokeId: string;
  readonly execution: number;
  readonly messages: EventMessage[];
}

/** Splits events into runs of consecutive events of the same run (invocation and execution). */
function runsOf(messages: readonly EventMessage[]): RunEvents[] {
  const runs: RunEvents[] = [];
  let last: RunEvents | undefined;
  for (const message of messages) {
    const execution = message.execution ?? 0;
    if (last?.invokeId === message.invokeId && last.execution === execution) last.messages.push(message);
    else {
      last = { invokeId: message.invokeId, execution, messages: [message] };
      runs.push(last);
    }
  }
  return runs;
}

/**
 * The agents connected to this server node: admits channels, delivers the tasks and cancellations
 * the services hand it, passes agent events to them and acknowledges what they stored, answers
 * the other nodes, and notices silent agents.
 */
export class AgentHub implements AgentChannels, TaskDispatcher, MessageHandler {
  private readonly connections = new Map<string, AgentConnection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: maxFrameBytes,
    perMessageDeflate: false,
  });
  private readonly timers: NodeJS.Timeout[];
  private readonly delivery: TaskDelivery;
  private sessionEnds: ((sessionId: string, end: SessionEnd) => void) | undefined;
  /** The caps each agent was last sent (JSON), so a periodic pass sends only what changed. */
  private readonly capsSent = new WeakMap<AgentConnection, string>();

  constructor(private readonly deps: HubDeps) {
    const heartbeatMs = deps.heartbeatSeconds * 1000;
    // A delivery waits for an agent to read what it was sent as long as a silent agent is kept.
    this.delivery = new TaskDelivery(deps.sessions, 3 * heartbeatMs, deps.nowMs, deps.observer, deps.traces);
    this.timers = [
      // An agent is offline after three missed heartbeats (DESIGN §2.3).
      setInterval(() => this.dropSilent(3 * heartbeatMs), Math.min(heartbeatMs, 5_000)),
      setInterval(() => this.sweep(), sweepIntervalMs),
      setInterval(() => this.offerUpgrades('periodic'), offerIntervalMs),
      // A change notification between nodes can be lost: the caps are compared again as often.
      setInterval(() => void this.sendResourceCaps(), offerIntervalMs),
    ];
    for (const timer of this.timers) timer.unref();
  }

  /** Listens to the other nodes (PostgreSQL); after a lost subscription, sweeps for what was missed. */
  listen(): Promise<void> {
    return this.deps.bus.listen(
      (message) => this.onNodeMessage(message),
      () => this.sweep(),
    );
  }

  get connectedCount(): number {
    return this.connections.size;
  }

  /** Delivers whatever waits for this node's agents (tasks, cancellations): one query per `sweepBatch` agents. */
  private sweep(): void {
    const ids = [...this.connections.keys()];
    for (let at = 0; at < ids.length; at += sweepBatch) {
      this.deps.sessions
        .withWork(ids.slice(at, at + sweepBatch))
        .then((due) => this.wakeLocal(due, true))
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'delivery sweep failed'));
    }
  }

  private onNodeMessage(message: NodeMessage): void {
    switch (message.kind) {
      case 'wake':
        if (message.trace) this.deps.traces?.adopt(message.trace.invokeId, message.trace.traceparent);
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
      case 'resource-usage-config':
        void this.sendResourceCaps(message.regionId, true);
        return;
      case 'session-open':
        this.connections.get(message.instanceId)?.send({ type: 'session-open', ...message.open });
        return;
      case 'session-end':
        if (isClosedReason(message.reason)) this.sessionEnds?.(message.sessionId, { reason: message.reason });
        return;
    }
  }

  /** Where sessions ended on another node go (the session relay of this node). */
  onSessionEnd(listener: (sessionId: string, end: SessionEnd) => void): void {
    this.sessionEnds = listener;
  }

  /**
   * Sends `session-open` to the agent: at once when this node holds it (the agent dials back its
   * own server URL, which reached this node), else through the node bus with `relayUrl`, this
   * node's URL, for the agent to dial.
   */
  openSession(instanceId: string, message: SessionOpen, relayUrl: string | undefined): void {
    const connection = this.connections.get(instanceId);
    if (connection) connection.send(message);
    else {
      const { type: _, ...open } = message;
      this.deps.bus.publish({
        kind: 'session-open',
        instanceId,
        open: { ...open, ...(relayUrl !== undefined && { relayUrl }) },
      });
    }
  }

  /** Handles an HTTP upgrade; returns false when the path is not the agent channel. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const { sessions, logger } = this.deps;
    return admitUpgrade({ sessions, logger, wss: this.wss }, request, socket, head, (ws, instance) =>
      this.attach(ws, instance),
    );
  }

  /** Takes an admitted agent's channel; a channel it held before is replaced. */
  attach(socket: ChannelSocket, instance: ManagedInstance): void {
    const previous = this.connections.get(instance.id);
    if (previous) previous.shut(closeCodes.replaced, 'replaced by a newer connection');
    const log = this.deps.logger.child({ instanceId: instance.id });
    const connection = new AgentConnection(socket, instance, this.deps.nowMs, log);
    this.connections.set(instance.id, connection);
    const helloTimer = setTimeout(() => {
      if (!connection.greeted) connection.shut(closeCodes.noHello, 'no hello');
    }, helloTimeoutMs);
    socket.on('message', (data, isBinary) => connection.receive(data, isBinary, this));
    socket.on('close', () => {
      connection.closed = true;
      clearTimeout(helloTimer);
      if (this.connections.get(instance.id) !== connection) return;
      this.connections.delete(instance.id);
      this.deps.sessions
        .disconnected(instance.id)
        .catch((error: unknown) => log.error({ err: error }, 'marking the instance offline failed'));
      log.info('agent disconnected');
    });
    socket.on('error', (error) => log.warn({ err: error }, 'agent channel error'));
  }

  async handle(connection: AgentConnection, message: OtherMessage): Promise<void> {
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
        const greeting = await this.deps.sessions.greet(instance, message);
        // Sent even when empty (no caps), so the agent knows this server reads its report; left out
        // when the setting could not be read, so the agent keeps what it applied.
        const resourceCaps = await this.deps.resourceCaps?.forRegion(instance.regionId);
        connection.instance = greeting.instance;
        connection.self = { version: message.agentVersion, osType: message.osType, arch: message.arch };
        connection.greeted = true;
        connection.send({
          type: 'welcome',
          instanceId: instance.id,
          heartbeatSeconds: this.deps.heartbeatSeconds,
          ...(resourceCaps && { resourceCaps }),
        });
        if (resourceCaps) this.capsSent.set(connection, JSON.stringify(resourceCaps));
        // Schedules the agent holds that the server has ended (or never knew): the agent drops them.
        // At most `messageLimits.heldEntries`, each once: a hello is answered by a bounded reply.
        for (const invokeId of greeting.dropped)
          connection.send({ type: 'cancel', invokeId, terminationMode: 'ProcessTree' });
        if (greeting.rebooted) connection.log.info('instance rebooted; reboot tasks armed');
        connection.log.info({ agentVersion: message.agentVersion }, 'agent connected');
        void this.delivery.deliver(connection, true);
        const target = this.offerTarget(connection);
        if (target) {
          this.deps.upgrades
            ?.offerOnHello(target)
            .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'upgrade offer failed'));
        }
        return;
      }
      case 'heartbeat':
        await this.deps.sessions.heartbeat(instance.id, message.health);
        return;
      case 'shutdown':
        await this.deps.sessions.shutdown(instance.id);
        connection.log.info('instance shutting down');
        return;
      case 'resource-usage':
        if (!connection.greeted) return;
        await this.deps.sessions.resourceUsageReported(instance.id, message);
        if (message.state === 'unavailable')
          connection.log.warn({ reason: message.reason }, 'the agent could not apply its resource caps');
        return;
    }
  }

  /**
   * Applies events in order, each run's consecutive events in one transaction, and acknowledges
   * each once it is stored. A failure refuses the rest of the channel (`refuseEvents`).
   */
  async applyEvents(connection: AgentConnection, messages: readonly EventMessage[]): Promise<void> {
    if (!connection.greeted || connection.refused) return;
    for (const { invokeId, execution, messages: run } of runsOf(messages)) {
      let live: boolean[];
      try {
        live = await this.deps.sessions.applyEvents(
          connection.instance.id,
          invokeId,
          execution,
          run.map((message) => message.event),
        );
      } catch (error) {
        this.refuseEvents(connection, error);
        return;
      }
      run.forEach((message, i) => {
        if (message.event.kind === 'finished' && message.event.spans)
          this.exportAgentSpans(
            connection,
            { instanceId: connection.instance.id, invokeId, execution },
            message.event,
          );
        if (message.event.kind === 'accepted') connection.release(invokeId, execution);
        if (!live[i]) connection.send({ type: 'cancel', invokeId, terminationMode: 'ProcessTree' });
        connection.acknowledge(message.eventId);
      });
    }
  }

  /**
   * A stored finished event's spans: those in the trace this node sent for the run are exported;
   * others are dropped (the event itself stands). A node that sent no trace (tracing off, another
   * node's task, a restart, the event sent again) drops them quietly; a span of another trace is
   * an agent out of line, logged.
   */
  private exportAgentSpans(
    connection: AgentConnection,
    run: TracedRun,
    event: Extract<TaskEvent, { kind: 'finished' }>,
  ): void {
    const { traces } = this.deps;
    if (!traces || !event.spans) return;
    try {
      const { refused } = traces.agentSpans(run, event.status, event.spans);
      const outOfLine = refused.filter(({ reason }) => reason !== noTraceSent);
      if (outOfLine.length > 0)
        connection.log.warn({ invokeId: run.invokeId, refused: outOfLine }, 'agent spans refused');
    } catch (error) {
      // Tracing never stands in the way of a run's report: the event is stored and acknowledged.
      connection.log.warn({ err: error }, 'agent spans dropped');
    }
  }

  /**
   * An event could not be stored (a full disk, a lost database): it and every later event on this
   * channel stay unacknowledged, so the agent keeps them; closing the channel makes it send them
   * again, in order, once it is back (its reconnect backoff paces the retries).
   */
  private refuseEvents(connection: AgentConnection, error: unknown): void {
    connection.refused = true;
    connection.log.error(
      { err: error, storageFull: isStorageFull(error) },
      'storing an agent event failed; closing the channel so the agent sends it again',
    );
    connection.flushAcks();
    connection.shut(closeCodes.notStored, 'event not stored; send it again');
  }

  /**
   * Delivers to the agents held here and asks the other nodes to deliver to theirs. A `created`
   * invocation's task goes to the agents held here at once, without reading the store.
   */
  wake(instanceIds: readonly string[], created?: NewTask): void {
    // Called in the creating request's span: the invocation's deliveries, here or elsewhere, join its trace.
    const traceparent = created && this.deps.traces?.remember(created.invokeId);
    const elsewhere = this.wakeLocal(instanceIds, false, created);
    if (elsewhere.length > 0) {
      const trace = created && traceparent ? { trace: { invokeId: created.invokeId, traceparent } } : {};
      this.deps.bus.publish({ kind: 'wake', instanceIds: elsewhere, ...trace });
    }
  }

  /**
   * Delivers to the agents held here; returns the ids of those that are not. `stopping`: a sweep
   * also looks for cancellations; a wake for new tasks need not (StopInvocation cancels directly).
   */
  private wakeLocal(instanceIds: readonly string[], stopping: boolean, created?: NewTask): string[] {
    const elsewhere: string[] = [];
    for (const id of instanceIds) {
      const connection = this.connections.get(id);
      if (!connection?.greeted) elsewhere.push(id);
      else if (created) void this.delivery.push(connection, created);
      else void this.delivery.deliver(connection, stopping);
    }
    return elsewhere;
  }

  cancel(instanceId: string, invokeId: string, terminationMode: TerminationMode): void {
    const connection = this.connections.get(instanceId);
    if (connection) connection.send({ type: 'cancel', invokeId, terminationMode });
    else this.deps.bus.publish({ kind: 'cancel', instanceId, invokeId, terminationMode });
  }

  close(instanceId: string): void {
    const connection = this.connections.get(instanceId);
    if (connection) connection.shut(closeCodes.deregistered, 'instance deregistered');
    else this.deps.bus.publish({ kind: 'close', instanceId });
  }

  /** A region's AgentUpgradeConfig changed: offer to the agents held here, and tell the other nodes. */
  upgradeConfigChanged(regionId: string): void {
    this.offerUpgrades('changed', regionId);
    this.deps.bus.publish({ kind: 'upgrade-config', regionId });
  }

  /** A region's ResourceUsageConfig changed: send the caps to its agents held here, and tell the other nodes. */
  resourceUsageChanged(regionId: string): void {
    void this.sendResourceCaps(regionId, true);
    this.deps.bus.publish({ kind: 'resource-usage-config', regionId });
  }

  /**
   * Reads the caps again and sends them to the agents held here (of one region, when given):
   * to all of them after a change (a setting saved again is applied again), else to those whose
   * caps differ from what they were last sent.
   */
  private async sendResourceCaps(regionId?: string, changed = false): Promise<void> {
    const source = this.deps.resourceCaps;
    if (!source) return;
    source.changed();
    for (const connection of this.connections.values()) {
      if (!connection.greeted || connection.closed) continue;
      if (regionId !== undefined && connection.instance.regionId !== regionId) continue;
      const caps = await source.forRegion(connection.instance.regionId);
      const text = caps && JSON.stringify(caps);
      if (!caps || !text || (!changed && text === this.capsSent.get(connection))) continue;
      this.capsSent.set(connection, text);
      connection.send({ type: 'resource-caps', caps });
    }
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
      .filter((target) => target !== undefined);
    upgrades
      .offerAll(targets, trigger, regionId)
      .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'upgrade offers failed'));
  }

  /** Drops agents not heard for `silenceMs`, and pings the rest so they can tell a dead server too. */
  private dropSilent(silenceMs: number): void {
    const now = this.deps.nowMs();
    for (const connection of this.connections.values()) {
      if (now - connection.lastSeenMs > silenceMs) connection.socket.terminate();
      else if (connection.socket.readyState === WebSocket.OPEN) connection.socket.ping();
    }
  }

  async closeAll(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.deps.bus.close();
    for (const connection of this.connections.values())
      connection.socket.close(closeCodes.goingAway, 'server stopping');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
