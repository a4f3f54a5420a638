import { ApiError } from '../domain/errors.js';
import { isRecord } from '../guards.js';

/**
 * The StreamInvocationOutput cursor: how many bytes of each run's output a reader has received.
 * Opaque to clients (base64url of a small JSON document); bound to one invocation so a cursor of
 * another cannot be replayed against it. Runs at offset 0 are left out.
 */
export type OutputOffsets = ReadonlyMap<string, number>;

/** The key of one run in the offsets: `instanceId/execution`. */
export const runKeyText = (instanceId: string, execution: number): string => `${instanceId}/${execution}`;

const version = 1;
// Far above any real cursor (one entry per run), far below the query limit.
const maxCursorChars = 64 * 1024;
const base64url = /^[A-Za-z0-9_-]+$/;
const instanceIdShape = /^[\w.-]{1,100}$/;

export function encodeCursor(invokeId: string, offsets: OutputOffsets): string {
  const runs: [string, number, number][] = [];
  for (const [key, offset] of offsets) {
    if (offset <= 0) continue;
    const slash = key.lastIndexOf('/');
    runs.push([key.slice(0, slash), Number(key.slice(slash + 1)), offset]);
  }
  runs.sort(([a, x], [b, y]) => (a === b ? x - y : a < b ? -1 : 1));
  return Buffer.from(JSON.stringify({ v: version, i: invokeId, o: runs }), 'utf8').toString('base64url');
}

const badCursor = (why: string) => new ApiError('InvalidParameter', `Cursor is not valid: ${why}.`);

const isCount = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Reads a cursor given back by a client; anything malformed, or for another invocation, is `InvalidParameter`. */
export function decodeCursor(text: string, invokeId: string): Map<string, number> {
  if (text.length > maxCursorChars || !base64url.test(text)) throw badCursor('not a cursor of this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw badCursor('not a cursor of this API');
  }
  if (!isRecord(parsed) || parsed.v !== version || !Array.isArray(parsed.o)) {
    throw badCursor('not a cursor of this API');
  }
  if (parsed.i !== invokeId) throw badCursor('it belongs to another invocation');
  const offsets = new Map<string, number>();
  const entries: readonly unknown[] = parsed.o;
  for (const entry of entries) {
    if (!Array.isArray(entry) || entry.length !== 3) throw badCursor('a run entry is malformed');
    const [instanceId, execution, offset]: readonly unknown[] = entry;
    if (typeof instanceId !== 'string' || !instanceIdShape.test(instanceId)) {
      throw badCursor('an instance id is malformed');
    }
    if (!isCount(execution) || !isCount(offset)) throw badCursor('a run entry is malformed');
    const key = runKeyText(instanceId, execution);
    if (offsets.has(key)) throw badCursor('a run appears twice');
    offsets.set(key, offset);
  }
  return offsets;
}
