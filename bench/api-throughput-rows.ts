/**
 * `node dist/bench/api-throughput-rows.js [sqlite|postgres|both] [seeded results] [seconds]`: the
 * api-throughput rows alone (signed InvokeCommand, DescribeInvocationResults by InvokeId), rate and
 * server CPU per call, for alternated before/after runs. With OPENASSIST_BENCH_CPU_PROF=DIR the
 * server writes V8 CPU profiles there; with OPENASSIST_BENCH_STATEMENTS=1 (PostgreSQL) each row also
 * prints the statements the server sent per call under that load (its run and its share of the
 * timers included): round trips, which do not move with what else the machine runs.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureApiThroughput, type Throughput } from './api-throughput.js';

const which = process.argv[2] ?? 'both';
const results = Number(process.argv[3] ?? 20_000);
const seconds = Number(process.argv[4] ?? 5);
const profileDir = process.env.OPENASSIST_BENCH_CPU_PROF;
const countStatements = process.env.OPENASSIST_BENCH_STATEMENTS === '1';
const preloads: string[] = [];
const serverEnv: Record<string, string> = {};
if (profileDir) {
  preloads.push(fileURLToPath(new URL('./cpu-profile.js', import.meta.url)));
  serverEnv.OPENASSIST_BENCH_CPU_PROF = profileDir;
}
const logDir = countStatements ? await mkdtemp(join(tmpdir(), 'openassist-statements-')) : undefined;
if (logDir) {
  preloads.push(fileURLToPath(new URL('./pg-query-log.js', import.meta.url)));
  serverEnv.OPENASSIST_BENCH_QUERY_LOG = join(logDir, 'statements');
}
if (preloads.length > 0) serverEnv.NODE_OPTIONS = preloads.map((file) => `--import ${file}`).join(' ');

/** Statements logged while `t`'s load ran, per call (every server process's log in `logDir`). */
async function statementsPerCall(t: Throughput): Promise<string> {
  if (!logDir || !t.window) return '';
  const { fromMs, toMs } = t.window;
  let sent = 0;
  for (const file of await readdir(logDir)) {
    const entries = JSON.parse(await readFile(join(logDir, file), 'utf8')) as { atMs: number }[];
    sent += entries.filter((entry) => entry.atMs >= fromMs && entry.atMs <= toMs).length;
  }
  // SQLite's statements are not logged: nothing to show.
  return sent === 0 ? '' : `  ${(sent / t.total).toFixed(2)} statements/call`;
}

const row = (name: string, t: Throughput) =>
  `${name.padEnd(36)} ${String(t.requestsPerSecond).padStart(6)} req/s  ${t.serverCpuMsPerRequest.toFixed(3)} ms CPU/call  p50 ${t.latencyP50Ms} ms  p99 ${t.latencyP99Ms} ms  non2xx ${t.non2xx}`;

const databases = which === 'both' ? (['sqlite', 'postgres'] as const) : ([which] as const);
try {
  for (const database of databases) {
    if (database !== 'sqlite' && database !== 'postgres') throw new Error(`no database ${database}`);
    const api = await measureApiThroughput(database, results, seconds, serverEnv);
    console.log(
      row(`${database} InvokeCommand`, api.invokeCommand) + (await statementsPerCall(api.invokeCommand)),
    );
    console.log(
      row(`${database} DescribeInvocationResults`, api.describeResults) +
        (await statementsPerCall(api.describeResults)),
    );
    if (logDir) for (const file of await readdir(logDir)) await rm(join(logDir, file));
  }
} finally {
  if (logDir) await rm(logDir, { recursive: true, force: true });
}
