import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { type RawData, WebSocket } from 'ws';
import type { ChannelSocket } from '../../src/dispatch/agent-connection.js';
import type { ManagedInstance } from '../../src/domain/fleet.js';
import {
  type AgentMessage,
  protocolVersion,
  type ResourceUsageReport,
  type ServerMessage,
  type TaskEvent,
  type TaskSpec,
} from '../../src/protocol/messages.js';
import type { AgentSessions, Greeting, HelloMessage, QueuedTask } from '../../src/service/agent-sessions.js';
import type { ChannelAdmission } from '../../src/service/instances.js';
import type { Notifications } from '../../src/store/store.js';

/** In-memory fakes of what the hub talks to: an agent's socket, the services, the store's notifications. */

/** An agent's WebSocket as the hub sees it: frames in with `receive`, frames out in `frames`. */
export class FakeSocket extends EventEmitter implements ChannelSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  readonly frames: ServerMessage[] = [];
  closeCode: number | undefined;
  closeReason = '';

  send(data: string, callback?: (error?: Error) => void): void {
    this.frames.push(JSON.parse(data));
    callback?.();
  }

  /** As `ws` does, the close event comes later (after the closing handshake), not within the call. */
  close(code: number, reason: string): void {
    if (this.readyState !== WebSocket.OPEN) return;
    this.closeCode = code;
    this.closeReason = reason;
    this.readyState = WebSocket.CLOSING;
    setImmediate(() => this.terminate());
  }

  terminate(): void {
    if (this.readyState === WebSocket.CLOSED) return;
    this.readyState = WebSocket.CLOSED;
    setImmediate(() => this.emit('close'));
  }

  pause(): void {}
  resume(): void {}
  ping(): void {}

  /** The agent sends a frame (a text frame of `message`, or raw text or bytes as given). */
  receive(message: AgentMessage | string | Buffer, isBinary = false): void {
    const text = typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message);
    const data: RawData = Buffer.isBuffer(text) ? text : Buffer.from(text);
    this.emit('message', data, isBinary);
  }

  /** The frames of one type sent so far. */
  sent<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.frames.filter((frame): frame is Extract<ServerMessage, { type: T }> => frame.type === type);
  }
}

/** A resolvable promise: a store write the test completes when it chooses. */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
} {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

/** What one `applyEvents` call received, and how the test answers it. */
export interface AppliedEvents {
  readonly invokeId: string;
  readonly execution: number;
  readonly events: readonly TaskEvent[];
  readonly stored: ReturnType<typeof deferred<boolean[]>>;
}

/** The services as the hub calls them, in memory: every call recorded, every event write held until answered. */
export class FakeSessions implements Pick<AgentSessions, keyof AgentSessions> {
  readonly greetings: HelloMessage[] = [];
  readonly applied: AppliedEvents[] = [];
  readonly disconnects: string[] = [];
  /** Tasks waiting for delivery, by instance. */
  readonly waiting = new Map<string, TaskSpec[]>();
  rendered = 0;

  async admitChannel(): Promise<ChannelAdmission> {
    return { refused: 'unauthorized' };
  }

  async greet(instance: ManagedInstance, hello: HelloMessage): Promise<Greeting> {
    this.greetings.push(hello);
    return { instance, rebooted: false, dropped: [] };
  }

  async heartbeat(): Promise<void> {}
  async shutdown(): Promise<void> {}
  readonly resourceReports: { instanceId: string; report: ResourceUsageReport }[] = [];

  async resourceUsageReported(instanceId: string, report: ResourceUsageReport): Promise<void> {
    this.resourceReports.push({ instanceId, report });
  }

  async disconnected(instanceId: string): Promise<void> {
    this.disconnects.push(instanceId);
  }

  async withWork(instanceIds: readonly string[]): Promise<string[]> {
    return instanceIds.filter((id) => (this.waiting.get(id)?.length ?? 0) > 0);
  }

  async *undeliveredTasks(
    instance: ManagedInstance,
    claim: (invokeId: string, execution: number) => boolean,
  ): AsyncGenerator<QueuedTask> {
    for (const task of this.waiting.get(instance.id) ?? []) {
      if (!claim(task.invokeId, task.execution ?? 0)) continue;
      this.rendered++;
      yield { task, storedAtMs: undefined };
    }
  }

  async stopping(): Promise<Map<string, 'Process' | 'ProcessTree'>> {
    return new Map();
  }

  applyEvents(
    _instanceId: string,
    invokeId: string,
    execution: number,
    events: readonly TaskEvent[],
  ): Promise<boolean[]> {
    const stored = deferred<boolean[]>();
    this.applied.push({ invokeId, execution, events, stored });
    return stored.promise;
  }
}

/** The store's notifications between nodes, as one node hears them. */
export class FakeNotifications implements Notifications {
  readonly published: string[] = [];
  private onMessage: ((payload: string) => void) | undefined;

  async publish(payload: string): Promise<void> {
    this.published.push(payload);
  }

  async listen(onMessage: (payload: string) => void): Promise<() => Promise<void>> {
    this.onMessage = onMessage;
    return async () => {
      this.onMessage = undefined;
    };
  }

  /** Another node publishes `payload`. */
  deliver(payload: string): void {
    this.onMessage?.(payload);
  }
}

/** A logger that keeps its lines (warn and above), for tests that check what was logged. */
export function recordingLogger() {
  const lines: { msg: string; level: number }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

export function fakeInstance(id: string): ManagedInstance {
  return {
    seq: 1,
    id,
    regionId: 'cn-hangzhou',
    activationId: 'act-1',
    name: id,
    hostname: 'host',
    osType: 'linux',
    osVersion: 'Linux',
    agentVersion: '1.0.0',
    machineId: '',
    intranetIp: '127.0.0.1',
    tokenHash: '',
    status: 'Running',
    bootId: '',
    timeZone: 'UTC',
    shells: ['bash'],
    connected: false,
    lastHeartbeatAtMs: 0,
    lastInvokedAtMs: 0,
    invocationCount: 0,
    resourceGroupId: '',
    registeredAtMs: 0,
    tags: [],
  };
}

export function hello(fields: Partial<HelloMessage> = {}): HelloMessage {
  return {
    type: 'hello',
    protocolVersion,
    agentVersion: '1.0.0',
    bootId: 'boot-1',
    hostname: 'host',
    osType: 'linux',
    osVersion: 'Linux',
    timeZone: 'UTC',
    shells: ['bash'],
    ...fields,
  };
}

export { taskSpec as task } from './task-spec.js';
