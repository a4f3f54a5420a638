import type { RecordingDirection } from '../domain/terminal-session.js';

/** Where a recording goes: `TerminalSessionService.record`. */
export type RecordSink = (
  direction: RecordingDirection,
  offset: number,
  data: Buffer,
  dropped: number,
) => Promise<void>;

// A chunk is written once this many bytes wait, or this long after its first byte.
const chunkBytes = 64 * 1024;
const flushDelayMs = 100;
/** Bytes waiting to be stored past which the recorded side is paused (back pressure, not loss). */
export const recorderHighWater = 1024 * 1024;

/**
 * One direction of a session's recording: bytes buffered into chunks, written one at a time in
 * order, up to `maxBytes` kept (beyond, counted as dropped). `backedUp` tells the relay to stop
 * reading the recorded side until the store caught up, so a fast shell cannot outrun the disk.
 */
export class SessionRecorder {
  private parts: Buffer[] = [];
  private waiting = 0;
  private offset = 0;
  private kept = 0;
  private dropped = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly direction: RecordingDirection,
    private readonly sink: RecordSink,
    private readonly maxBytes: number,
    private readonly onError: (error: unknown) => void,
    /** Called when the bytes waiting fall back under the high-water mark. */
    private readonly onDrained: () => void,
  ) {}

  get backedUp(): boolean {
    return this.waiting >= recorderHighWater;
  }

  add(bytes: Uint8Array): void {
    const room = Math.max(0, this.maxBytes - this.kept);
    const keep = Math.min(room, bytes.byteLength);
    this.dropped += bytes.byteLength - keep;
    if (keep > 0) {
      this.parts.push(Buffer.from(bytes.buffer, bytes.byteOffset, keep));
      this.kept += keep;
      this.waiting += keep;
    }
    if (this.waiting >= chunkBytes) this.flush();
    else if (!this.timer && (this.waiting > 0 || this.dropped > 0)) {
      this.timer = setTimeout(() => this.flush(), flushDelayMs);
      this.timer.unref();
    }
  }

  /** Writes what waits now; resolves once everything added so far is stored. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.parts.length === 0 && this.dropped === 0) return this.writing;
    const data = Buffer.concat(this.parts);
    const offset = this.offset;
    const dropped = this.dropped;
    this.parts = [];
    this.offset += data.length;
    this.dropped = 0;
    this.writing = this.writing
      .then(() => this.sink(this.direction, offset, data, dropped))
      .catch(this.onError)
      .finally(() => {
        const wasBackedUp = this.backedUp;
        this.waiting -= data.length;
        if (wasBackedUp && !this.backedUp) this.onDrained();
      });
    return this.writing;
  }
}
