import type { AccessKey, AccessKeyRepo } from '../store/store.js';

/** How long a key read from the store answers for it here: the longest a change made on another node goes unseen. */
export const keyCacheMs = 1_000;

// Keys held at once; past it the cache starts over (only keys that exist are held).
const maxKeys = 10_000;

/**
 * The access keys that signed requests name, each read from the store at most once a `keyCacheMs`:
 * that read was one of a call's few statements (on PostgreSQL one round trip of five for
 * DescribeInvocationResults). A key changed on this node is forgotten at once (`forget`), so here a
 * disabled or deleted key is refused from the next request on; a change made on another node is
 * seen within `keyCacheMs`, sooner than an open stream's recheck (key-streams.ts). Only keys that
 * exist are held: a made-up id is read every time and takes no room.
 */
export class AccessKeyCache implements Pick<AccessKeyRepo, 'get'> {
  private readonly keys = new Map<string, { readonly key: AccessKey; readonly readAtMs: number }>();
  /** Bumped by every `forget`: a read begun before it does not put back what it forgot. */
  private epoch = 0;

  constructor(
    private readonly store: Pick<AccessKeyRepo, 'get'>,
    private readonly ttlMs = keyCacheMs,
    private readonly nowMs: () => number = () => performance.now(),
  ) {}

  async get(id: string): Promise<AccessKey | undefined> {
    const held = this.keys.get(id);
    if (held && this.nowMs() - held.readAtMs < this.ttlMs) return held.key;
    return this.read(id);
  }

  /** Reads the key from the store now and holds what it finds (a stream's recheck). */
  async read(id: string): Promise<AccessKey | undefined> {
    const epoch = this.epoch;
    // Aged from before the read: what it returns may be that old.
    const readAtMs = this.nowMs();
    const key = await this.store.get(id);
    if (epoch !== this.epoch) return key;
    if (!key) {
      this.keys.delete(id);
      return undefined;
    }
    if (this.keys.size >= maxKeys && !this.keys.has(id)) this.keys.clear();
    this.keys.set(id, { key, readAtMs });
    return key;
  }

  /** The key changed in the store: the next request reads it again. */
  forget(id: string): void {
    this.epoch++;
    this.keys.delete(id);
  }
}
