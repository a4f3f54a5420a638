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
const medianOf = (values: readonly number[]): number => median(values, (value) => value);

/** One case's figures in one round. */
interface Measured {
  readonly run: Throughput;
  readonly sequentialMs: number[];
}

/**
 * What metrics and the audit trail cost InvokeCommand: each database, each of the four cases, in
 * `rounds` rounds, each in another order (off, metrics, audit, both; then both, audit, …) so a
 * drift of the machine's load falls on every case alike. Two runs of the same server differ by up
 * to 20 % here, so the verdicts compare both-on with both-off within each round and take the
 * median of those paired costs; the rows show each case's median round by rate.
 */
export async function measureObservabilityCost(
  quick: boolean,
  log: (line: string) => void,
): Promise<{ rows: ObservabilityRow[]; verdicts: Verdict[] }> {
  const databases = quick ? (['sqlite'] as const) : (['sqlite', 'postgres'] as const);
  const rounds = quick ? 1 : 5;
  const seconds = quick ? 3 : 6;
  const sequential = quick ? 50 : 150;
  const rows: ObservabilityRow[] = [];
  const verdicts: Verdict[] = [];
  for (const database of databases) {
    const measured: Measured[][] = cases.map(() => []);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? [0, 1, 2, 3] : [3, 2, 1, 0];
      for (const i of order) {
        const result = await measureCase(database, cases[i] as ObserverCase, seconds, sequential);
        measured[i]?.push({ run: result.invokeCommand, sequentialMs: result.sequentialMs });
      }
    }
    const databaseRows = cases.map((observers, i) => {
      const row: ObservabilityRow = {
        database,
        ...observers,
        invokeCommand: median(measured[i] ?? [], (m) => m.run.requestsPerSecond).run,
        sequentialMs: summary((measured[i] ?? []).flatMap((m) => m.sequentialMs)),
      };
      log(
        `InvokeCommand on ${database}, ${label(observers).padEnd(15)} ${String(row.invokeCommand.requestsPerSecond).padStart(6)}/s, ${row.invokeCommand.serverCpuMsPerRequest} ms CPU per call, one at a time p50 ${row.sequentialMs.p50} ms p99 ${row.sequentialMs.p99} ms`,
      );
      return row;
    });
    rows.push(...databaseRows);
    // Each round's cost of both on against both off, then the median over the rounds.
    const paired = (measure: (m: Measured) => number, cost: (off: number, on: number) => number) =>
      medianOf(
        (measured[0] ?? []).map((off, round) => cost(measure(off), measure(measured[3]?.[round] ?? off))),
      );
    const rateCost = paired(
      (m) => m.run.requestsPerSecond,
      (off, on) => 1 - on / off,
    );
    const cpuCost = paired(
      (m) => m.run.serverCpuMsPerRequest,
      (off, on) => on / off - 1,
    );
    const latencyCost = paired(
      (m) => summary(m.sequentialMs).p50,
      (off, on) => on / off - 1,
    );
    const off = databaseRows[0] as ObservabilityRow;
    const both = databaseRows[3] as ObservabilityRow;
    const percent = (ratio: number) => `${(ratio * 100).toFixed(1)} %`;
    const each = `median of ${rounds} paired round${rounds === 1 ? '' : 's'}`;
    verdicts.push(
      {
        target: `metrics + audit cost InvokeCommand rate < 10 % (${database})`,
        measured: `${percent(rateCost)} (${each}; median rounds ${off.invokeCommand.requestsPerSecond} → ${both.invokeCommand.requestsPerSecond}/s), server CPU a call ${percent(cpuCost)} (${off.invokeCommand.serverCpuMsPerRequest} → ${both.invokeCommand.serverCpuMsPerRequest} ms)`,
        pass: rateCost < 0.1,
      },
      {
        target: `metrics + audit cost one call's latency < 10 % (${database})`,
        measured: `${percent(latencyCost)} (${each}; all calls p50 ${off.sequentialMs.p50} → ${both.sequentialMs.p50} ms)`,
        pass: latencyCost < 0.1,
      },
    );
  }
  return { rows, verdicts };
}
