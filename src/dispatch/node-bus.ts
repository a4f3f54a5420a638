import { type Static, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { FastifyBaseLogger } from 'fastify';
import type { Notifications } from '../store/store.js';

const terminationMode = Type.Union([Type.Literal('Process'), Type.Literal('ProcessTree')]);

/** What one node asks another about agents it holds (JSON over the store's notifications). */
const nodeMessageSchema = Type.Union([
  /**
   * Deliver to these agents, if you hold them. `trace`: a new invocation's trace, which its
   * deliveries join (docs/tracing.md); absent from older nodes and when tracing is off.
   */
  Type.Object({
    kind: Type.Literal('wake'),
    from: Type.String(),
    instanceIds: Type.Array(Type.String()),
    trace: Type.Optional(
      Type.Object({ invokeId: Type.String({ maxLength: 64 }), traceparent: Type.String({ maxLength: 512 }) }),
    ),
  }),
  Type.Object({
    kind: Type.Literal('cancel'),
    from: Type.String(),
    instanceId: Type.String(),
    invokeId: Type.String(),
    terminationMode,
  }),
  /** The instance was deregistered: close its channel. */
  Type.Object({ kind: Type.Literal('close'), from: Type.String(), instanceId: Type.String() }),
  /** A region's AgentUpgradeConfig changed: every node offers the upgrade to its agents there. */
  Type.Object({ kind: Type.Literal('upgrade-config'), from: Type.String(), regionId: Type.String() }),
  /** A region's ResourceUsageConfig changed: every node sends the new caps to its agents there. */
  Type.Object({ kind: Type.Literal('resource-usage-config'), from: Type.String(), regionId: Type.String() }),
  /** A session's client reached the sender: send `session-open` to the agent, if you hold it. */
  Type.Object({
    kind: Type.Literal('session-open'),
    from: Type.String(),
    instanceId: Type.String(),
    open: Type.Object({
      sessionId: Type.String(),
      relayUrl: Type.Optional(Type.String()),
      username: Type.Optional(Type.String()),
      commandLine: Type.Optional(Type.String()),
      portNumber: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
      targetServer: Type.Optional(Type.String()),
    }),
  }),
  /** EndTerminalSession (stored): end the session, if you relay it. */
  Type.Object({
    kind: Type.Literal('session-end'),
    from: Type.String(),
    sessionId: Type.String(),
    reason: Type.String(),
  }),
]);

export type NodeMessage = Static<typeof nodeMessageSchema>;

/** A message as its sender writes it: the bus signs it with the sending node's id. */
export type NodeMessageBody = WithoutFrom<NodeMessage>;
// Distributes over the union, so each kind keeps its own fields.
type WithoutFrom<M> = M extends unknown ? Omit<M, 'from'> : never;

const nodeMessage = TypeCompiler.Compile(nodeMessageSchema);

// What a dropped message's log line shows of it.
const loggedPayloadChars = 200;

/**
 * Messages between the server nodes of one cluster, carried by the store's notifications (best
 * effort: the database stays the truth, so a lost message only delays). Every message received is
 * checked against its schema: a malformed one is logged and dropped, never trusted.
 */
export class NodeBus {
  private unlisten: (() => Promise<void>) | undefined;

  constructor(
    private readonly notifications: Notifications,
    /** This node's id: its own messages come back to it and are ignored. */
    readonly nodeId: string,
    private readonly logger: FastifyBaseLogger,
  ) {}

  publish(message: NodeMessageBody): void {
    this.notifications
      .publish(JSON.stringify({ ...message, from: this.nodeId }))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'notifying the other nodes failed'));
  }

  /** Hears the other nodes; `onResubscribed` runs after a lost subscription (messages may be missed). */
  async listen(onMessage: (message: NodeMessage) => void, onResubscribed: () => void): Promise<void> {
    this.unlisten = await this.notifications.listen((payload) => {
      const message = this.parse(payload);
      if (message && message.from !== this.nodeId) onMessage(message);
    }, onResubscribed);
  }

  async close(): Promise<void> {
    await this.unlisten?.();
  }

  /** The message in `payload`, or undefined (logged) when it is not one. */
  private parse(payload: string): NodeMessage | undefined {
    let value: unknown;
    try {
      value = JSON.parse(payload);
    } catch {
      value = undefined;
    }
    if (nodeMessage.Check(value)) return value;
    this.logger.warn({ payload: payload.slice(0, loggedPayloadChars) }, 'malformed node message dropped');
    return undefined;
  }
}
