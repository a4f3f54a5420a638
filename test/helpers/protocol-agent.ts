import { WebSocket } from 'ws';
import {
  type AgentMessage,
  channelPath,
  parseServerMessage,
  protocolVersion,
  registerPath,
  type SessionOpen,
  type TaskSpec,
  type UpgradeOffer,
} from '../../src/protocol/messages.js';
import { version } from '../../src/version.js';
import { waitFor } from './deadline.js';

/**
 * A test agent that speaks the real protocol without running anything: it registers, says hello
 * as any OS (Windows included, which cannot exist here), records the tasks and cancellations it
 * receives and answers each task with accepted → started → finished Success (a schedule: accepted).
 */
export interface AgentIdentity {
  readonly instanceId: string;
  readonly token: string;
}

/** Registers one identity through an activation, as an agent does (POST /agent/v1/register). */
export async function registerIdentity(
  serverUrl: string,
  activation: { id: string; code: string },
  fields: { hostname?: string; osType?: 'linux' | 'windows'; agentVersion?: string; machineId?: string } = {},
): Promise<AgentIdentity> {
  const osType = fields.osType ?? 'linux';
  const response = await fetch(new URL(registerPath, serverUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      activationId: activation.id,
      activationCode: activation.code,
      hostname: fields.hostname ?? `fake-${osType}`,
      osType,
      osVersion: osType === 'windows' ? 'Windows Server 2022' : 'Linux',
      agentVersion: fields.agentVersion ?? 'test',
      machineId: fields.machineId ?? 'fake',
    }),
  });
  return (await response.json()) as AgentIdentity;
}

/** Opens an identity's channel (not yet said hello on). */
export function openChannel(serverUrl: string, identity: AgentIdentity): WebSocket {
  const url = new URL(channelPath, serverUrl);
  url.protocol = 'ws:';
  return new WebSocket(url, {
    headers: { 'x-openassist-instance-id': identity.instanceId, authorization: `Bearer ${identity.token}` },
  });
}

/** A well-formed hello, with any field overridden (a protocol version, the schedules held). */
export function helloMessage(fields: Partial<Extract<AgentMessage, { type: 'hello' }>> = {}): AgentMessage {
  const osType = fields.osType ?? 'linux';
  return {
    type: 'hello',
    protocolVersion,
    agentVersion: version,
    bootId: 'boot',
    hostname: `fake-${osType}`,
    osType,
    osVersion: osType === 'windows' ? 'Windows Server 2022' : 'Linux',
    timeZone: 'UTC',
    shells: osType === 'windows' ? ['cmd', 'powershell'] : ['bash'],
    ...fields,
  } as AgentMessage;
}

export class ProtocolAgent {
  readonly tasks: TaskSpec[] = [];
  readonly cancels: string[] = [];
  /** The terminal sessions it was asked to serve (it dials none itself). */
  readonly sessionOpens: SessionOpen[] = [];
  private socket: WebSocket | undefined;
  private events = 0;
  private osType: 'linux' | 'windows' = 'linux';

  private constructor(
    readonly serverUrl: string,
    readonly instanceId: string,
    readonly token: string,
  ) {}

  static async register(
    serverUrl: string,
    activation: { id: string; code: string },
    osType: 'linux' | 'windows',
  ): Promise<ProtocolAgent> {
    const body = await registerIdentity(serverUrl, activation, { osType });
    const agent = new ProtocolAgent(serverUrl, body.instanceId, body.token);
    await agent.connect(osType);
    return agent;
  }

  private send(message: AgentMessage): void {
    this.socket?.send(JSON.stringify(message));
  }

  /** Connects again, saying it holds these schedules. */
  async reconnect(schedules: readonly string[]): Promise<void> {
    const socket = this.socket;
    if (socket && socket.readyState !== socket.CLOSED) {
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.close();
      });
    }
    await this.connect(this.osType, schedules);
  }

  private async connect(osType: 'linux' | 'windows', schedules: readonly string[] = []): Promise<void> {
    this.osType = osType;
    const socket = openChannel(this.serverUrl, this);
    this.socket = socket;
    let welcomed = false;
    socket.on('open', () => this.send(helloMessage({ osType, schedules })));
    socket.on('message', (data) => {
      const message = parseServerMessage(data.toString());
      if (message?.type === 'welcome') welcomed = true;
      if (message?.type === 'cancel') this.cancels.push(message.invokeId);
      if (message?.type === 'session-open') this.sessionOpens.push(message);
      if (message?.type !== 'task') return;
      this.tasks.push(message.task);
      const invokeId = message.task.invokeId;
      const event = (event: Extract<AgentMessage, { type: 'event' }>['event']) =>
        this.send({ type: 'event', eventId: String(++this.events), invokeId, event });
      event({ kind: 'accepted' });
      if (message.task.schedule) return;
      event({ kind: 'started', atMs: Date.now() });
      event({
        kind: 'finished',
        atMs: Date.now(),
        status: 'Success',
        exitCode: 0,
        errorCode: '',
        errorInfo: '',
        droppedBytes: 0,
      });
    });
    await waitFor('the protocol agent to be welcomed', () => (welcomed ? true : undefined));
  }

  /** Sends any frame, well-formed or not: a hostile agent's forgeries. */
  sendRaw(frame: unknown): void {
    this.socket?.send(JSON.stringify(frame));
  }

  /** Resolves with the close code once the server (or this side) has closed the channel. */
  closed(): Promise<number> {
    const socket = this.socket;
    if (!socket || socket.readyState === socket.CLOSED) return Promise.resolve(0);
    return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
  }

  close(): void {
    this.socket?.close();
  }
}

/**
 * An identity that says hello as `fields` (an agent version, an arch) and records the upgrade
 * offers it is sent; resolves once welcomed.
 */
export async function connectOfferListener(
  serverUrl: string,
  activation: { id: string; code: string },
  fields: { agentVersion: string; arch?: string },
): Promise<{ readonly offers: UpgradeOffer[]; close(): void }> {
  const identity = await registerIdentity(serverUrl, activation);
  const offers: UpgradeOffer[] = [];
  let welcomed = false;
  const socket = openChannel(serverUrl, identity);
  socket.on('open', () => socket.send(JSON.stringify(helloMessage(fields))));
  socket.on('message', (data) => {
    const message = parseServerMessage(data.toString());
    if (message?.type === 'welcome') welcomed = true;
    if (message?.type === 'upgrade') offers.push(message);
  });
  await waitFor('the agent to be welcomed', () => (welcomed ? true : undefined));
  return { offers, close: () => socket.close() };
}
