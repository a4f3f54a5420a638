/**
 * Loaded into a server process with `node --import` (bench only): records every statement the
 * `pg` driver sends, with its time, and writes them to OPENASSIST_BENCH_QUERY_LOG on SIGUSR2, so a
 * driver can count PostgreSQL round trips per API call.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const target = process.env.OPENASSIST_BENCH_QUERY_LOG;
// Bounded: a round-trip count needs a few thousand calls, not a whole run.
const maxEntries = 200_000;
const entries: { atMs: number; sql: string }[] = [];

if (target) {
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; name?: string };
    const sql = typeof first === 'string' ? first : (first?.text ?? first?.name ?? '?');
    if (entries.length < maxEntries) entries.push({ atMs: performance.timeOrigin + performance.now(), sql });
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  process.on('SIGUSR2', () => {
    writeFileSync(target, JSON.stringify(entries.splice(0)));
  });
}
