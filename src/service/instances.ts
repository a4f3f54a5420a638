import { timingSafeEqual } from 'node:crypto';
import {
  activationLimits,
  addressAllowed,
  newAgentToken,
  newInstanceId,
  registeredInstanceName,
  sha256Hex,
  validateInstanceName,
} from '../domain/activation.js';
import { ApiError } from '../domain/errors.js';
import { activationExpiresAtMs, type ManagedInstance } from '../domain/fleet.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import type { TextPattern } from '../domain/text-pattern.js';
import type { RegisterRequest, RegisterResponse } from '../protocol/messages.js';
import type { InstanceFilter, Store } from '../store/store.js';
import type { FailureThrottle, ThrottledAttempt } from './failure-throttle.js';

/** What the instance service needs of the live agent connections. */
export interface AgentChannels {
  /** Closes an instance's channel, if it has one on this node. */
  close(instanceId: string): void;
}

export interface DescribeInstancesInput {
  instanceIds?: readonly string[] | undefined;
  activationId?: string | undefined;
  name?: TextPattern | undefined;
  /** Lowercase (`domain/fleet.ts: osTypeFilter`). */
  osType?: string | undefined;
  instanceIp?: string | undefined;
  machineId?: string | undefined;
  /** Managed instances have no zone, so any zone matches none. */
  zoneId?: string | undefined;
  connected?: boolean | undefined;
  status?: string | undefined;
  resourceGroupId?: string | undefined;
  tags: readonly RawTag[];
}

/** What a channel upgrade gets: the instance, or why not (`throttled`: after too many failures). */
export type ChannelAdmission =
  | { readonly admitted: ManagedInstance }
  | { readonly refused: 'unauthorized' }
  | { readonly refused: 'throttled'; readonly retryAfterSeconds: number };

/** `Throttling` with the seconds to wait, for the Retry-After header. */
export class ThrottledError extends ApiError {
  constructor(readonly retryAfterSeconds: number) {
    super('Throttling', `Too many failed attempts from this address; retry in ${retryAfterSeconds} s.`);
  }
}

const sameHash = (a: string, b: string): boolean =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const clip = (text: unknown, max: number): string => (typeof text === 'string' ? text.slice(0, max) : '');

/** Registration of agents and the managed-instance actions. */
export class InstanceService {
  constructor(
    private readonly store: Store,
    private readonly channels: AgentChannels,
    private readonly nowMs: () => number,
    private readonly heartbeatSeconds: number,
    /** Slows guessing of activation codes and agent tokens; none: unlimited (unit tests). */
    private readonly throttle?: FailureThrottle,
  ) {}

  /** Refuses an address that failed too often, before anything is checked. */
  private admit(attempt: ThrottledAttempt, address: string): void {
    const waitMs = this.throttle?.retryAfterMs(attempt, address) ?? 0;
    if (waitMs > 0) throw new ThrottledError(Math.ceil(waitMs / 1000));
  }

  /** CloudAssistantStatus: the channel is open and the agent was heard within three heartbeats. */
  online(instance: ManagedInstance): boolean {
    return (
      instance.connected && this.nowMs() - instance.lastHeartbeatAtMs <= 3 * this.heartbeatSeconds * 1000
    );
  }

  /** An agent registers with an activation: every rule of the activation is enforced here. */
  async register(request: RegisterRequest, clientAddress: string): Promise<RegisterResponse> {
    this.admit('registration', clientAddress);
    const activation = await this.store.activations.find(clip(request.activationId, 64));
    // Guessing an id or a code is charged to the address; refusals after a right code are not.
    if (!activation) {
      this.throttle?.failed('registration', clientAddress);
      throw new ApiError('ActivationId.NotFound');
    }
    if (!sameHash(activation.codeHash, sha256Hex(clip(request.activationCode, 256)))) {
      this.throttle?.failed('registration', clientAddress);
      throw new ApiError('ActivationCode.Invalid');
    }
    if (activation.disabled) throw new ApiError('Activation.Disabled');
    if (this.nowMs() >= activationExpiresAtMs(activation)) {
      throw new ApiError(
        'Activation.Expired',
        `It expired at ${new Date(activationExpiresAtMs(activation)).toISOString()}.`,
      );
    }
    if (!addressAllowed(activation.ipAddressRange, clientAddress)) {
      throw new ApiError(
        'Activation.AddressNotAllowed',
        `${clientAddress} is not in ${activation.ipAddressRange}.`,
      );
    }
    const token = newAgentToken();
    const hostname = clip(request.hostname, 255) || 'unknown';
    const instance = await this.store.instances.register(activation.id, (claimed, ordinal) => ({
      id: newInstanceId(),
      regionId: claimed.regionId,
      activationId: claimed.id,
      name: registeredInstanceName(claimed, ordinal, hostname),
      hostname,
      osType: request.osType === 'windows' ? 'windows' : 'linux',
      osVersion: clip(request.osVersion, 255),
      agentVersion: clip(request.agentVersion, 64),
      machineId: clip(request.machineId, 64),
      intranetIp: clientAddress.replace(/^::ffff:/, ''),
      tokenHash: sha256Hex(token),
      status: 'Running',
      bootId: '',
      timeZone: '',
      shells: [],
      connected: false,
      lastHeartbeatAtMs: 0,
      lastInvokedAtMs: 0,
      invocationCount: 0,
      resourceGroupId: claimed.resourceGroupId,
      registeredAtMs: this.nowMs(),
      tags: claimed.tags,
    }));
    if (!instance) {
      const now = await this.store.activations.find(activation.id);
      if (now?.disabled) throw new ApiError('Activation.Disabled');
      throw new ApiError('Activation.CountExceeded', `It allows ${activation.instanceCount} instances.`);
    }
    return { instanceId: instance.id, token };
  }

  /** A channel upgrade from `address`: a wrong pair is charged to the address, and too many are throttled. */
  async admitChannel(instanceId: string, token: string, address: string): Promise<ChannelAdmission> {
    const waitMs = this.throttle?.retryAfterMs('channel', address) ?? 0;
    if (waitMs > 0) return { refused: 'throttled', retryAfterSeconds: Math.ceil(waitMs / 1000) };
    const instance = await this.authenticateAgent(instanceId, token);
    if (instance) return { admitted: instance };
    this.throttle?.failed('channel', address);
    return { refused: 'unauthorized' };
  }

  /** The instance an agent token belongs to, or undefined: deregistered instances have none. */
  async authenticateAgent(instanceId: string, token: string): Promise<ManagedInstance | undefined> {
    const instance = await this.store.instances.find(instanceId);
    if (!instance || !sameHash(instance.tokenHash, sha256Hex(token))) return undefined;
    return instance;
  }

  describe(
    regionId: string,
    input: DescribeInstancesInput,
    page: PageRequest,
  ): Promise<Page<ManagedInstance>> {
    const { zoneId, ...fields } = input;
    const filter: InstanceFilter = { regionId, ...fields, tags: validateTagFilters(input.tags) };
    if (zoneId !== undefined) return Promise.resolve({ items: [], totalCount: 0, nextToken: undefined });
    return this.store.instances.list(filter, page);
  }

  async rename(regionId: string, id: string, name: string): Promise<ManagedInstance> {
    validateInstanceName(name, activationLimits.instanceNameLength);
    if (!(await this.store.instances.rename(regionId, id, name)))
      throw new ApiError('InvalidInstance.NotFound');
    return this.get(regionId, id);
  }

  async get(regionId: string, id: string): Promise<ManagedInstance> {
    const instance = await this.store.instances.get(regionId, id);
    if (!instance)
      throw new ApiError('InvalidInstance.NotFound', `No instance ${id.slice(0, 80)} in ${regionId}.`);
    return instance;
  }

  /** Removes the instance: its token stops working at once and its live channel is closed. */
  async deregister(regionId: string, id: string): Promise<ManagedInstance> {
    const instance = await this.store.instances.deregister(regionId, id);
    if (!instance)
      throw new ApiError('InvalidInstance.NotFound', `No instance ${id.slice(0, 80)} in ${regionId}.`);
    this.channels.close(id);
    return instance;
  }

  /**
   * An agent deregistering itself (`POST /agent/v1/deregister`, its uninstall): authenticated and
   * throttled as a channel is, then the same as DeregisterManagedInstance.
   */
  async deregisterAgent(instanceId: string, token: string, address: string): Promise<ManagedInstance> {
    const admission = await this.admitChannel(instanceId, token, address);
    if ('admitted' in admission) return this.deregister(admission.admitted.regionId, admission.admitted.id);
    if (admission.refused === 'throttled') throw new ThrottledError(admission.retryAfterSeconds);
    throw new ApiError('InvalidToken.Agent');
  }

  activeTasks(instanceId: string): Promise<number> {
    return this.store.invocations.activeCount(instanceId);
  }
}
