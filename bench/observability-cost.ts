import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, newSchemaName, postgresUrlFor } from '../test/helpers/postgres.js';
import { startServerProcess } from '../test/helpers/server-process.js';
import { drive, type Throughput } from './api-throughput.js';
import { startLoadProcess } from './load-process.js';
import type { Verdict } from './report.js';
import { apiOf, summary } from './stats.js';

/** Which of the two observers a server runs with. */
export interface ObserverCase {
  readonly metrics: boolean;
  readonly audit: boolean;
}

export interface ObservabilityRow extends ObserverCase {
  readonly database: 'sqlite' | 'postgres';
  /** InvokeCommand with 16 connections: the median of the rounds by rate. */
  readonly invokeCommand: Throughput;
  /** One InvokeCommand at a time: what a single caller waits. */
  readonly sequentialMs: { p50: number; p99: number; max: number };
}

const cases: readonly ObserverCase[] = [
  { metrics: false, audit: false },
  { metrics: true, audit: false },
  { metrics: false, audit: true },
  { metrics: true, audit: true },
];
const agents = 20;
const label = (observers: ObserverCase) =>
  observers.metrics && observers.audit
    ? 'metrics + audit'
    : observers.metrics
      ? 'metrics only'
      : observers.audit
        ? 'audit only'
        : 'both off';
const onOff = (on: boolean) => (on ? 'on' : 'off');

/** One server with the observers of `observers`, 20 memory-mode agents, InvokeCommand measured both ways. */
async function measureCase(
  database: 'sqlite' | 'postgres',
  observers: ObserverCase,
  seconds: number,
  sequential: number,
): Promise<{ invokeCommand: Throughput; sequentialMs: number[] }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openassist-bench-observers-'));
  const schema = newSchemaName();
  const server = await startServerProcess({
    dataDir,
    ...(database === 'postgres' && { databaseUrl: postgresUrlFor(schema) }),
    env: {
      OPENASSIST_LOG_LEVEL: 'warn',
      OPENASSIST_METRICS: onOff(observers.metrics),
      OPENASSIST_AUDIT: onOff(observers.audit),
    },
  });
  try {
    const call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: String(agents) });
    const fleet = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
      count: agents,
      mode: 'memory',
    });
    try {
      const command = await call('CreateCommand', {
        Name: 'observability-cost',
        Type: 'RunShellScript',
        ContentEncoding: 'PlainText',
        CommandContent: 'echo hi',
      });
      const params = (i: number) => ({
        CommandId: String(command.CommandId),
        'InstanceId.1': fleet.instanceIds[i % fleet.instanceIds.length] as string,
      });
      const sequentialMs: number[] = [];
      for (let i = 0; i < sequential; i++) {
        const started = performance.now();
        await call('InvokeCommand', params(i));
        sequentialMs.push(performance.now() - started);
      }
      const invokeCommand = await drive(server, seconds, seconds * 3_000, (i) => ({
        action: 'InvokeCommand',
        params: params(i),
      }));
      return { invokeCommand, sequentialMs };
    } finally {
      await fleet.stop();
    }
  } finally {
    await server.stop();
    await rm(dataDir, { recursive: true, force: true });
    if (database === 'postgres') await dropSchema(schema).catch(() => undefined);
  }
}

const median = <T>(items: readonly T[], by: (item: T) => number): T =>
  [...items].sort((a, b) => by(a) - by(b))[Math.floor(items.length / 2)] as T;

/**
 * What metrics and the audit trail cost InvokeCommand: each database, each of the four cases, in
 * `rounds` alternated rounds (off, metrics, audit, both, off, …) so a drift of the machine's load
 * falls on every case alike; the median round of each case by rate, and every sequential call pooled.
 */
export async function measureObservabilityCost(
  quick: boolean,
  log: (line: string) => void,
): Promise<{ rows: ObservabilityRow[]; verdicts: Verdict[] }> {
  const databases = quick ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
  const rounds = quick ? 1 : 3;
  const seconds = quick ? 3 : 8;
  const sequential = quick ? 50 : 200;
  const rows: ObservabilityRow[] = [];
  const verdicts: Verdict[] = [];
  for (const database of databases) {
    const measured = cases.map(() => ({ runs: [] as Throughput[], sequential: [] as number[] }));
    for (let round = 0; round < rounds; round++) {
      for (const [i, observers] of cases.entries()) {
        const result = await measureCase(database, observers, seconds, sequential);
        measured[i]?.runs.push(result.invokeCommand);
        measured[i]?.sequential.push(...result.sequentialMs);
      }
    }
    const databaseRows = cases.map((observers, i) => {
      const row: ObservabilityRow = {
        database,
        ...observers,
        invokeCommand: median(measured[i]?.runs ?? [], (run) => run.requestsPerSecond),
        sequentialMs: summary(measured[i]?.sequential ?? []),
      };
      log(
        `InvokeCommand on ${database}, ${label(observers).padEnd(15)} ${String(row.invokeCommand.requestsPerSecond).padStart(6)}/s, ${row.invokeCommand.serverCpuMsPerRequest} ms CPU per call, one at a time p50 ${row.sequentialMs.p50} ms p99 ${row.sequentialMs.p99} ms`,
      );
      return row;
    });
    rows.push(...databaseRows);
    const off = databaseRows[0] as ObservabilityRow;
    const both = databaseRows[3] as ObservabilityRow;
    const rateCost = 1 - both.invokeCommand.requestsPerSecond / off.invokeCommand.requestsPerSecond;
    // CPU per call does not move with what else the machine runs; the rate does.
    const cpuCost = both.invokeCommand.serverCpuMsPerRequest / off.invokeCommand.serverCpuMsPerRequest - 1;
    const latencyCost = both.sequentialMs.p50 / off.sequentialMs.p50 - 1;
    const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
    verdicts.push(
      {
        target: `metrics + audit cost InvokeCommand rate < 10 % (${database})`,
        measured: `${off.invokeCommand.requestsPerSecond} → ${both.invokeCommand.requestsPerSecond}/s (${percent(rateCost)}), server CPU ${off.invokeCommand.serverCpuMsPerRequest} → ${both.invokeCommand.serverCpuMsPerRequest} ms a call (${percent(cpuCost)})`,
        pass: rateCost < 0.1,
      },
      {
        target: `metrics + audit cost one call's latency < 10 % (${database})`,
        measured: `p50 ${off.sequentialMs.p50} → ${both.sequentialMs.p50} ms (${percent(latencyCost)})`,
        pass: latencyCost < 0.1,
      },
    );
  }
  return { rows, verdicts };
}
