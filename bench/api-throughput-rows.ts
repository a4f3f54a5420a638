/**
 * `node dist/bench/api-throughput-rows.js [sqlite|postgres|both] [seeded results] [seconds]`: the
 * api-throughput rows alone (signed InvokeCommand, DescribeInvocationResults by InvokeId), rate and
 * server CPU per call, for alternated before/after runs. With OPENASSIST_BENCH_CPU_PROF=DIR the
 * server writes V8 CPU profiles there.
 */
import { fileURLToPath } from 'node:url';
import { measureApiThroughput, type Throughput } from './api-throughput.js';

const which = process.argv[2] ?? 'both';
const results = Number(process.argv[3] ?? 20_000);
const seconds = Number(process.argv[4] ?? 5);
const profileDir = process.env.OPENASSIST_BENCH_CPU_PROF;
const preload = fileURLToPath(new URL('./cpu-profile.js', import.meta.url));
const serverEnv: Record<string, string> = profileDir
  ? { NODE_OPTIONS: `--import ${preload}`, OPENASSIST_BENCH_CPU_PROF: profileDir }
  : {};

const row = (name: string, t: Throughput) =>
  `${name.padEnd(36)} ${String(t.requestsPerSecond).padStart(6)} req/s  ${t.serverCpuMsPerRequest.toFixed(3)} ms CPU/call  p50 ${t.latencyP50Ms} ms  p99 ${t.latencyP99Ms} ms  non2xx ${t.non2xx}`;

const databases = which === 'both' ? (['sqlite', 'postgres'] as const) : ([which] as const);
for (const database of databases) {
  if (database !== 'sqlite' && database !== 'postgres') throw new Error(`no database ${database}`);
  const api = await measureApiThroughput(database, results, seconds, serverEnv);
  console.log(row(`${database} InvokeCommand`, api.invokeCommand));
  console.log(row(`${database} DescribeInvocationResults`, api.describeResults));
}
