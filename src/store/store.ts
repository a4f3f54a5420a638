import type { Command, CommandPatch } from '../domain/command.js';
import type { Page, PageRequest } from '../domain/paging.js';
import type { TagFilter } from '../domain/tags.js';

/**
 * The storage port. The core talks to this and nothing else; SQLite and PostgreSQL implement it
 * (one Kysely implementation over two dialects) and pass the same contract suite.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly accessKeys: AccessKeyRepo;
  readonly nonces: NonceRepo;
  readonly commands: CommandRepo;
  /** Cheap round trip for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface AccessKey {
  readonly id: string;
  readonly secret: string;
  readonly status: AccessKeyStatus;
  readonly description: string;
  readonly createdAtMs: number;
}

export interface AccessKeyRepo {
  get(id: string): Promise<AccessKey | undefined>;
  insert(key: AccessKey): Promise<void>;
  setStatus(id: string, status: AccessKeyStatus): Promise<boolean>;
  count(): Promise<number>;
}

export interface NonceRepo {
  /** Records a nonce; false when the key already used it (a replay). Atomic: a unique key, never check-then-insert. */
  claim(accessKeyId: string, nonce: string, expiresAtMs: number): Promise<boolean>;
  /** Forgets nonces whose window has passed; returns how many. */
  purgeExpired(nowMs: number): Promise<number>;
}

export interface CommandFilter {
  readonly regionId: string;
  readonly commandId?: string | undefined;
  readonly name?: string | undefined;
  /** Substring match. */
  readonly description?: string | undefined;
  readonly type?: string | undefined;
  readonly resourceGroupId?: string | undefined;
  /** Every tag must match. */
  readonly tags: readonly TagFilter[];
}

export interface CommandRepo {
  insert(command: Omit<Command, 'seq'>): Promise<Command>;
  get(regionId: string, id: string): Promise<Command | undefined>;
  list(filter: CommandFilter, page: PageRequest): Promise<Page<Command>>;
  /** Applies a patch; bumps the version when the script changes. False when there is no such command. */
  update(regionId: string, id: string, patch: CommandPatch): Promise<boolean>;
  delete(regionId: string, id: string): Promise<boolean>;
}
