/**
 * `node dist/bench/pg-round-trips.js [calls]`: PostgreSQL round trips (statements the `pg` driver
 * sends) per signed InvokeCommand and per DescribeInvocationResults, against one server process
 * on a fresh schema with 5 memory-mode agents. Each InvokeCommand runs alone and its run finishes
 * before the next: the statements its HTTP request's handling sends are the call's own, the others up
 * to the run's end are the run's (agents' events, output) or a timer's. Prints the statements of one call.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../test/helpers/deadline.js';
import { dropSchema, newSchemaName, postgresUrlFor } from '../test/helpers/postgres.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { startLoadProcess } from './load-process.js';
import { apiOf } from './stats.js';

interface Entry {
  readonly atMs: number;
  readonly sql: string;
  /** Sent while handling an HTTP request: the call's own. */
  readonly api: boolean;
}

const calls = Number(process.argv[2] ?? 20);
const agents = 5;
const nowMs = () => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const schema = newSchemaName();
  const logFile = join(tmpdir(), `openassist-query-log-${schema}.json`);
  const preload = fileURLToPath(new URL('./pg-query-log.js', import.meta.url));
  const server = await startServerProcess({
    databaseUrl: postgresUrlFor(schema),
    env: { NODE_OPTIONS: `--import ${preload}`, OPENASSIST_BENCH_QUERY_LOG: logFile },
  });
  const call = apiOf(server);
  const windows: { kind: string; fromMs: number; toMs: number; untilMs?: number }[] = [];
  try {
    const activation = await call('CreateActivation', { InstanceCount: String(agents) });
    const fleet = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
      count: agents,
      mode: 'memory',
    });
    const invokeIds: string[] = [];
    try {
      const command = await call('CreateCommand', {
        Name: 'round-trips',
        Type: 'RunShellScript',
        ContentEncoding: 'PlainText',
        CommandContent: 'echo hi',
      });
      for (let i = 0; i < calls + 2; i++) {
        const finished = fleet.finishedRuns();
        const fromMs = nowMs();
        const body = await call('InvokeCommand', {
          CommandId: String(command.CommandId),
          'InstanceId.1': fleet.instanceIds[i % agents] as string,
        });
        const toMs = nowMs();
        invokeIds.push(String(body.InvokeId));
        await waitFor('the run to finish', () => (fleet.finishedRuns() > finished ? true : undefined));
        // The first two warm caches (compiled queries, the key's policy) and are not counted.
        if (i >= 2) windows.push({ kind: 'InvokeCommand', fromMs, toMs, untilMs: nowMs() });
      }
    } finally {
      await fleet.stop();
    }
    for (let i = 0; i < calls; i++) {
      const fromMs = nowMs();
      await call('DescribeInvocationResults', { InvokeId: invokeIds[i % invokeIds.length] as string });
      windows.push({ kind: 'DescribeInvocationResults', fromMs, toMs: nowMs() });
    }
    server.child.kill('SIGUSR2');
    const entries = await waitFor('the query log', async () =>
      readFile(logFile, 'utf8')
        .then((text) => JSON.parse(text) as Entry[])
        .catch(() => undefined),
    );
    report(entries, windows);
  } finally {
    await server.stop();
    await rm(logFile, { force: true });
    await dropSchema(schema).catch(() => undefined);
  }
}

function report(
  entries: readonly Entry[],
  windows: readonly { kind: string; fromMs: number; toMs: number; untilMs?: number }[],
) {
  const within = (fromMs: number, toMs: number) => entries.filter((e) => e.atMs >= fromMs && e.atMs <= toMs);
  for (const kind of ['InvokeCommand', 'DescribeInvocationResults']) {
    const mine = windows.filter((w) => w.kind === kind);
    const own = mine.map((w) => within(w.fromMs, w.toMs).filter((e) => e.api).length);
    const withRun = mine.map((w) => within(w.fromMs, w.untilMs ?? w.toMs).length);
    const mean = (values: number[]) =>
      Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10;
    console.log(
      `${kind}: ${mean(own)} statements per call (min ${Math.min(...own)}, max ${Math.max(...own)})`,
    );
    if (kind === 'InvokeCommand') console.log(`${kind} with its run: ${mean(withRun)} statements per call`);
    const last = mine.at(-1);
    if (!last) continue;
    console.log(`  statements of one ${kind}:`);
    for (const entry of within(last.fromMs, last.untilMs ?? last.toMs)) {
      const marker = entry.api && entry.atMs <= last.toMs ? 'call' : 'run ';
      console.log(`   ${marker} ${entry.sql.replace(/\s+/g, ' ').slice(0, 150)}`);
    }
  }
}

await main();
