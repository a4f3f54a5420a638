import type { FastifyBaseLogger } from 'fastify';
import type { AccessKey, AccessKeyRepo } from '../store/store.js';

/** Every open stream's key is read again this often: a key changed on any cluster node ends its streams within it. */
export const keyRecheckMs = 2_000;

/** What a stream was authorized with; any change to it (or the key's end) ends the stream. */
interface Grant {
  readonly keyId: string;
  readonly policy: string;
  readonly resourceGroupId: string;
}

const grantOf = (key: AccessKey): Grant => ({
  keyId: key.id,
  policy: key.policy ?? '',
  resourceGroupId: key.resourceGroupId ?? '',
});

/** Whether `key` (as stored now) still grants what the stream was opened with. */
const stillGrants = (key: AccessKey | undefined, grant: Grant): boolean =>
  key !== undefined &&
  key.status === 'Active' &&
  (key.policy ?? '') === grant.policy &&
  (key.resourceGroupId ?? '') === grant.resourceGroupId;

/**
 * The access key behind each open event stream. A stream is authorized once, when it opens, and
 * may then run for days (a Period task's never ends): so a key disabled, deleted or given another
 * policy or group ends its streams at once on the node that changed it (`revoke`), and on every
 * other node at the next recheck, which reads the keys of the open streams from the store.
 */
export class KeyStreams {
  private readonly grants = new Map<AbortController, Grant>();
  private timer: NodeJS.Timeout | undefined;
  private checking = false;

  constructor(
    private readonly keys: Pick<AccessKeyRepo, 'get'>,
    private readonly log: FastifyBaseLogger,
    private readonly recheckMs = keyRecheckMs,
  ) {}

  /** Watches the stream `controller` ends, opened with `key`; returns what stops watching it. */
  watch(key: AccessKey, controller: AbortController): () => void {
    this.grants.set(controller, grantOf(key));
    if (!this.timer) {
      this.timer = setInterval(() => void this.recheck(), this.recheckMs);
      this.timer.unref();
    }
    return () => {
      this.grants.delete(controller);
      if (this.grants.size === 0) this.stop();
    };
  }

  /** Ends this node's streams of `keyId` now (the key was changed here). */
  revoke(keyId: string): void {
    this.end((grant) => grant.keyId === keyId, keyId);
  }

  /** Reads the key of every open stream once; ends the streams whose key no longer grants them. */
  async recheck(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const ids = new Set([...this.grants.values()].map((grant) => grant.keyId));
      for (const id of ids) {
        let key: AccessKey | undefined;
        try {
          key = await this.keys.get(id);
        } catch (error) {
          // The store is out of reach: the next recheck decides, nothing is ended on a guess.
          this.log.warn({ err: error }, 'rechecking the keys of open streams failed');
          return;
        }
        this.end((grant) => grant.keyId === id && !stillGrants(key, grant), id);
      }
    } finally {
      this.checking = false;
    }
  }

  get size(): number {
    return this.grants.size;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private end(matches: (grant: Grant) => boolean, keyId: string): void {
    let ended = 0;
    for (const [controller, grant] of this.grants) {
      if (!matches(grant)) continue;
      this.grants.delete(controller);
      controller.abort();
      ended++;
    }
    if (ended > 0)
      this.log.info({ accessKeyId: keyId, streams: ended }, 'ended the streams of a revoked key');
    if (this.grants.size === 0) this.stop();
  }
}
