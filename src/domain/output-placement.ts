/**
 * Where an agent's output chunk goes in a run's stored output. The agent numbers its output bytes
 * (the chunk's `offset`); the server stores them contiguously up to its cap and counts the rest as
 * dropped. Every byte the server counted as dropped lies before the next chunk (a gap, or past the
 * cap): the agent's next offset is stored + dropped. (The agent's own cap is counted only by the run's
 * `finished` event, after its last chunk.)
 */
export interface StoredOutput {
  readonly storedBytes: number;
  readonly droppedBytes: number;
}

export interface ChunkPlacement {
  /** The part of the chunk to store, `data.subarray(from, to)`, appended at the stored end. */
  readonly from: number;
  readonly to: number;
  /** Bytes to add to the run's dropped count: a gap before the chunk, and what the cap leaves out. */
  readonly droppedBytes: number;
}

/**
 * Places a chunk of `length` bytes at the agent's `offset`; undefined for a repeat (every byte of it
 * already stored or counted). Chunks reach the server in the agent's order (an event that fails to
 * apply closes the channel, and the agent sends again from there), so a chunk that starts past the
 * expected offset follows bytes that were lost for good (an agent that could not journal them): the
 * gap is dropped, never hidden.
 */
export function placeChunk(
  output: StoredOutput,
  offset: number,
  length: number,
  maxBytes: number,
): ChunkPlacement | undefined {
  const expected = output.storedBytes + output.droppedBytes;
  if (offset + length <= expected) return undefined;
  const gap = Math.max(0, offset - expected);
  const from = Math.max(0, expected - offset);
  const room = Math.max(0, maxBytes - output.storedBytes);
  const to = from + Math.min(length - from, room);
  return { from, to, droppedBytes: gap + (length - to) };
}
