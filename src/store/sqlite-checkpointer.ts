import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** How often the background connection copies the write-ahead log into the database file. */
export const checkpointEveryMs = 200;

// Plain CommonJS run as the worker's source: it needs no build step, so it runs from the sources
// under test as from the built program. It is handed the driver's resolved path.
const workerSource = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
setInterval(() => {
  // PASSIVE never waits for readers or the writer; what it cannot copy now it copies next time.
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.everyMs);
`;

/**
 * Checkpoints a WAL database from a worker thread with a connection of its own. A checkpoint copies
 * pages and syncs the file: run by the committing connection (SQLite's default), it took up to half
 * of the time of every commit on the server's event loop. Returns the function that stops it.
 */
export function startCheckpointer(path: string): () => void {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: {
      path,
      everyMs: checkpointEveryMs,
      driver: createRequire(import.meta.url).resolve('better-sqlite3'),
    },
  });
  worker.unref();
  // A failed worker leaves checkpoints to the connection's own fallback threshold.
  worker.on('error', () => {});
  return () => void worker.terminate();
}
