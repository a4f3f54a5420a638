import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { FastifyBaseLogger } from 'fastify';
import type { ReaderThreadData } from './reader-messages.js';
import { type ReaderOutcome, ReaderPool } from './reader-pool.js';

// A few unanswered calls per thread keep it busy while the main thread is about other work; past
// them calls are answered on the main thread, which so takes its share when the readers are behind
// (measured: handing every call to one reader made the reader the bottleneck, a read costing more
// CPU than the rest of a call).
const maxPendingPerThread = 4;
// Each reader's page cache, as large as the writer's: the reads it takes over no longer warm the
// writer's cache, and a page missed costs a read from the OS (CPU) each time.
const readerCacheKiB = 64 * 1024;

/**
 * Reader threads for a SQLite file database (docs/reader-threads.md); undefined for PostgreSQL,
 * an in-memory database, `threads` 0, or a run from the TypeScript sources (the thread's module
 * is built JavaScript): calls are then answered on the main thread as before.
 */
export function startReaders(
  databaseUrl: string,
  threads: number,
  shownBytes: number,
  logger: FastifyBaseLogger,
  observe?: (outcome: ReaderOutcome) => void,
): ReaderPool | undefined {
  if (!databaseUrl.startsWith('sqlite:') || threads <= 0) return undefined;
  const databasePath = databaseUrl.slice('sqlite:'.length);
  const script = new URL('./reader-thread.js', import.meta.url);
  if (databasePath === ':memory:' || !existsSync(fileURLToPath(script))) return undefined;
  const workerData: ReaderThreadData = { databasePath, shownBytes, cacheKiB: readerCacheKiB };
  return new ReaderPool({
    threads,
    maxPendingPerThread,
    start: () => new Worker(script, { workerData }),
    log: logger,
    observe,
  });
}
