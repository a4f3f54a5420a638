import { isRecord } from '../guards.js';

/** Error codes that mean the data store ran out of space: SQLite's, PostgreSQL's `disk_full`, the system's. */
const fullCodes = new Set(['SQLITE_FULL', '53100', 'ENOSPC']);

/**
 * Whether an error (or one it was caused by) says the store's disk is full: a condition that ends
 * when space returns, answered as ServiceUnavailable rather than as an unknown failure.
 */
export function isStorageFull(error: unknown): boolean {
  for (let cause = error, depth = 0; cause && depth < 5; depth++) {
    if (!isRecord(cause)) return false;
    const { code, cause: next } = cause;
    if (typeof code === 'string' && fullCodes.has(code)) return true;
    cause = next;
  }
  return false;
}
