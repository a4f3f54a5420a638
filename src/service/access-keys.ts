import { ApiError } from '../domain/errors.js';
import { newAccessKeyId, newAccessKeySecret } from '../domain/ids.js';
import { parsePolicy } from '../domain/policy.js';
import type { AccessKey, AccessKeyStatus, Store } from '../store/store.js';
import { resourceGroupMustExist } from './resource-group-check.js';

/** The key made at the first start (root-access-key.ts); it alone manages keys. */
export const isRoot = (key: AccessKey): boolean => key.description === 'root';

/**
 * Access key management (RAM's CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey).
 * Only the root key may call it, and the root key itself cannot be disabled or deleted: that would
 * lock every operator out of key management.
 */
export class AccessKeyService {
  private readonly revokedListeners = new Set<(id: string) => void>();
  private readonly changedListeners = new Set<(id: string) => void>();

  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
  ) {}

  /** Calls `listener` with a key's id once it is disabled or deleted here; returns what unsubscribes. */
  onRevoked(listener: (id: string) => void): () => void {
    this.revokedListeners.add(listener);
    return () => this.revokedListeners.delete(listener);
  }

  /** Calls `listener` with a key's id once its status changed or it was deleted here; returns what unsubscribes. */
  onChanged(listener: (id: string) => void): () => void {
    this.changedListeners.add(listener);
    return () => this.changedListeners.delete(listener);
  }

  /** A new key; with a policy it may call only what the policy allows, with a group only that group. */
  async create(
    caller: AccessKey,
    limits: { policy?: string; resourceGroupId?: string } = {},
  ): Promise<AccessKey> {
    requireRoot(caller);
    if (limits.policy) parsePolicy(limits.policy);
    if (limits.resourceGroupId) await resourceGroupMustExist(this.store, limits.resourceGroupId);
    const key: AccessKey = {
      id: newAccessKeyId(),
      secret: newAccessKeySecret(),
      status: 'Active',
      description: '',
      createdAtMs: this.nowMs(),
      ...(limits.policy && { policy: limits.policy }),
      ...(limits.resourceGroupId && { resourceGroupId: limits.resourceGroupId }),
    };
    await this.store.accessKeys.insert(key);
    return key;
  }

  async list(caller: AccessKey): Promise<AccessKey[]> {
    requireRoot(caller);
    return this.store.accessKeys.list();
  }

  async setStatus(caller: AccessKey, id: string, status: AccessKeyStatus): Promise<void> {
    await this.changeable(caller, id);
    await this.store.accessKeys.setStatus(id, status);
    this.changed(id);
    if (status !== 'Active') this.revoked(id);
  }

  async delete(caller: AccessKey, id: string): Promise<void> {
    await this.changeable(caller, id);
    await this.store.accessKeys.delete(id);
    this.changed(id);
    this.revoked(id);
  }

  private changed(id: string): void {
    for (const listener of this.changedListeners) listener(id);
  }

  private revoked(id: string): void {
    for (const listener of this.revokedListeners) listener(id);
  }

  private async changeable(caller: AccessKey, id: string): Promise<void> {
    requireRoot(caller);
    const key = await this.store.accessKeys.get(id);
    if (!key) throw new ApiError('EntityNotExist.User.AccessKey', `No access key ${id.slice(0, 64)}.`);
    if (isRoot(key)) {
      throw new ApiError('Forbidden.RAM', 'The root access key cannot be disabled or deleted.');
    }
  }
}

function requireRoot(caller: AccessKey): void {
  if (!isRoot(caller)) throw new ApiError('Forbidden.RAM', 'Only the root access key manages access keys.');
}
