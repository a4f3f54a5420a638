import { createHash, type Hash } from 'node:crypto';

/**
 * The SHA-256 of uploads whose every byte so far came through this node, in order: the part that
 * completes an upload then needs no second read of the file. An upload any byte of which came
 * through another node (or before a restart) has none, and its stored chunks are hashed instead.
 * At most `max` are kept, the least recently fed dropped first.
 */
export class UploadHashes {
  private readonly states = new Map<string, { offset: number; hash: Hash }>();

  constructor(private readonly max: number) {}

  /** `bytes` were stored at `offset`: a state ending there goes on, offset 0 starts one, else none. */
  appended(id: string, offset: number, bytes: Buffer): void {
    const state = offset === 0 ? { offset: 0, hash: createHash('sha256') } : this.states.get(id);
    this.states.delete(id);
    if (state?.offset !== offset) return;
    state.hash.update(bytes);
    state.offset += bytes.length;
    this.states.set(id, state);
    if (this.states.size > this.max) {
      const oldest = this.states.keys().next().value;
      if (oldest !== undefined) this.states.delete(oldest);
    }
  }

  /** The hash of bytes 0 to `sizeBytes`, when this node saw them all; forgotten either way. */
  take(id: string, sizeBytes: number): string | undefined {
    const state = this.states.get(id);
    this.states.delete(id);
    return state?.offset === sizeBytes ? state.hash.digest('hex') : undefined;
  }
}
