import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * A file transfer moves its bytes through Buffers (socket reads, upload parts, stored chunks) that
 * live outside V8's heap and die at once. V8 frees them only when its young generation fills, which
 * a transfer's few small objects hardly do, or once 64 MiB of them have piled up: a 100 MiB send
 * grew the server by 37-46 MiB and the agent by 35 MiB. Transfers count the bytes they move here,
 * and every `collectEveryBytes` V8 runs a young-generation collection (about a millisecond), which
 * frees the dead ones (docs/file-transfer.md).
 */
export class TransferMemory {
  private sinceCollection = 0;

  constructor(
    private readonly collect: () => void,
    readonly collectEveryBytes = 8 * 1024 * 1024,
  ) {}

  /** `bytes` more went through a Buffer of a transfer. */
  moved(bytes: number): void {
    this.sinceCollection += bytes;
    if (this.sinceCollection < this.collectEveryBytes) return;
    this.sinceCollection = 0;
    this.collect();
  }
}

/**
 * A young-generation collection by `gc`, V8's collector as a context exposes it; nothing when it is
 * not one (a runtime that refused the flag): a transfer must never fail over its memory's upkeep.
 */
export function minorCollection(gc: unknown): () => void {
  if (typeof gc !== 'function') return () => undefined;
  return () => gc({ type: 'minor' });
}

/**
 * V8's collector as a function, without starting the process with `--expose-gc`: the flag is set
 * only while one new context is made, so no other code (nor a script's) sees a global `gc`.
 */
function youngGenerationCollector(): () => void {
  setFlagsFromString('--expose-gc');
  try {
    return minorCollection(runInNewContext('typeof gc === "function" ? gc : undefined'));
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

let collector: (() => void) | undefined;

/**
 * The process's one counter: transfers running at once share it, so they share the collections. The
 * collector's context is made at the first collection: a process that never transfers (an idle
 * agent) does not hold it.
 */
export const transferMemory = new TransferMemory(() => {
  collector ??= youngGenerationCollector();
  collector();
});
