/**
 * Loaded into a server process with `node --import` (bench only): records every statement the
 * `pg` driver sends, with its time and whether an HTTP request's handling sent it (an API call's
 * own statements, as opposed to those of agents' events and timers), and writes them to
 * OPENASSIST_BENCH_QUERY_LOG on SIGUSR2 (or, never asked, to `<that>.<pid>` at the exit), so a
 * driver can count PostgreSQL round trips per call.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import pg from 'pg';

const target = process.env.OPENASSIST_BENCH_QUERY_LOG;
// Bounded: a round-trip count needs a few thousand calls, not a whole run.
const maxEntries = 200_000;
const entries: { atMs: number; sql: string; api: boolean }[] = [];
const inRequest = new AsyncLocalStorage<true>();

if (target) {
  // Every 'request' listener (the API's handler) runs inside the request's context.
  const emit = http.Server.prototype.emit as (
    this: http.Server,
    event: string,
    ...args: unknown[]
  ) => boolean;
  http.Server.prototype.emit = function (this: http.Server, event: string, ...args: unknown[]) {
    return event === 'request'
      ? inRequest.run(true, () => emit.call(this, event, ...args))
      : emit.call(this, event, ...args);
  } as typeof http.Server.prototype.emit;
  const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const first = args[0] as string | { text?: string; name?: string };
    const sql = typeof first === 'string' ? first : (first?.text ?? first?.name ?? '?');
    if (entries.length < maxEntries) {
      entries.push({
        atMs: performance.timeOrigin + performance.now(),
        sql,
        api: inRequest.getStore() === true,
      });
    }
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
  let asked = false;
  process.on('SIGUSR2', () => {
    asked = true;
    writeFileSync(target, JSON.stringify(entries.splice(0)));
  });
  // A driver that only stops its servers (a throughput row) gets each one's statements at its exit.
  process.on('exit', () => {
    if (!asked && entries.length > 0)
      writeFileSync(`${target}.${process.pid}`, JSON.stringify(entries.splice(0)));
  });
}
