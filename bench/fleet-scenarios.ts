import { type ApiThroughput, measureApiThroughput } from './api-throughput.js';
import { type FleetScale, measureFleetScale } from './fleet-scale.js';
import { type FleetSchedule, measureFleetSchedule } from './fleet-schedule.js';
import type { Verdict } from './report.js';

/** The sizes of a full run, and of a quick one (CI: about 35 s for all three scenarios). */
const sizes = (quick: boolean) =>
  quick
    ? {
        fleets: [{ agents: 300, spawnAgents: 100 }],
        seed: 20_000,
        seconds: 2,
        databases: ['sqlite'] as const,
      }
    : {
        fleets: [
          { agents: 1_000, spawnAgents: 1_000 },
          { agents: 10_000, spawnAgents: 1_000 },
        ],
        seed: 1_000_000,
        seconds: 8,
        databases: ['sqlite', 'postgres'] as const,
      };
const scheduleSize = (quick: boolean) =>
  quick ? { agents: 200, periods: 1 } : { agents: 1_000, periods: 4 };

const count = (n: number) => n.toLocaleString('en-US');

function printFleet(fleet: FleetScale, say: (line: string) => void): void {
  say(
    `${count(fleet.agents)} agents on one server (${fleet.generatorProcesses} generator process(es)): server ${fleet.serverRssBeforeMiB} → ${fleet.serverRssConnectedMiB} MiB RSS, ${fleet.serverKiBPerAgent} KiB per agent`,
  );
  for (const run of fleet.runs) {
    say(
      `  ${run.mode} mode, ${count(run.agents)} agents: connected in ${run.connectSeconds} s; ${run.invokeCalls} InvokeCommand × 50, all Success in ${run.allSuccessSeconds} s (server CPU ${run.serverCpuSeconds} s)`,
    );
  }
}

function printApi(api: ApiThroughput, say: (line: string) => void): void {
  const { invokeCommand: invoke, describeResults: describe } = api;
  say(
    `API on ${api.database}: signed InvokeCommand (1 instance) ${invoke.requestsPerSecond} req/s, p50 ${invoke.latencyP50Ms} ms, p99 ${invoke.latencyP99Ms} ms; server CPU ${invoke.serverCpuMsPerRequest} ms/call`,
  );
  say(
    `  ${count(api.storedResults)} results stored (seeded in ${api.seedSeconds} s): DescribeInvocationResults by InvokeId ${describe.requestsPerSecond} req/s, p50 ${describe.latencyP50Ms} ms, p99 ${describe.latencyP99Ms} ms; server CPU ${describe.serverCpuMsPerRequest} ms/call`,
  );
  for (const [kind, latency] of Object.entries(api.queryLatencyMs)) {
    say(`  one at a time, ${kind}: p50 ${latency.p50} ms, p99 ${latency.p99} ms`);
  }
}

/** The worst p99 of the filtered and paged queries: the target holds for every one of them. */
const worstP99 = (api: ApiThroughput) => Math.max(...Object.values(api.queryLatencyMs).map((l) => l.p99));

/**
 * The performance issue's fleet-scale scenarios: many agents on one server (load generator),
 * API throughput over many stored results on SQLite and PostgreSQL, and a cron on many agents.
 */
export async function measureFleetScenarios(quick: boolean, say: (line: string) => void) {
  const size = sizes(quick);
  const fleets: FleetScale[] = [];
  for (const { agents, spawnAgents } of size.fleets) {
    const fleet = await measureFleetScale(agents, spawnAgents);
    printFleet(fleet, say);
    fleets.push(fleet);
  }
  const apis: ApiThroughput[] = [];
  for (const database of size.databases) {
    const api = await measureApiThroughput(database, size.seed, size.seconds);
    printApi(api, say);
    apis.push(api);
  }
  const { agents, periods } = scheduleSize(quick);
  const schedule: FleetSchedule = await measureFleetSchedule(agents, periods);
  say(
    `10 s cron on ${count(schedule.agents)} memory-mode agents in ${schedule.generatorProcesses} generator processes (${count(schedule.runs)} runs): fire time → start p50 ${schedule.fireErrorMs.p50} ms, p99 ${schedule.fireErrorMs.p99} ms, max ${schedule.fireErrorMs.max} ms; server CPU ${schedule.serverCpuPercent} % of a core`,
  );

  const largest = fleets.at(-1) as FleetScale;
  const memoryRun = largest.runs.find((run) => run.mode === 'memory');
  const sqlite = apis.find((api) => api.database === 'sqlite') as ApiThroughput;
  const verdicts: Verdict[] = [
    {
      target: `${count(largest.agents)} agents on one server, ≤ 16 KiB of server memory each`,
      measured: `${largest.serverKiBPerAgent} KiB/agent`,
      pass: largest.serverKiBPerAgent <= 16,
    },
    {
      target: `${count(largest.agents)} memory-mode tasks complete ≤ 10 s`,
      measured: `${memoryRun?.allSuccessSeconds} s`,
      pass: (memoryRun?.allSuccessSeconds ?? Number.POSITIVE_INFINITY) <= 10,
    },
    {
      target: '≥ 1,500 signed InvokeCommand/s (SQLite)',
      measured: `${sqlite.invokeCommand.requestsPerSecond}/s`,
      pass: sqlite.invokeCommand.requestsPerSecond >= 1_500,
    },
    {
      target: '≥ 4,000 DescribeInvocationResults/s (SQLite)',
      measured: `${sqlite.describeResults.requestsPerSecond}/s`,
      pass: sqlite.describeResults.requestsPerSecond >= 4_000,
    },
    {
      target: `filtered page over ${count(sqlite.storedResults)} results p99 ≤ 20 ms (SQLite)`,
      measured: `${worstP99(sqlite)} ms (worst query)`,
      pass: worstP99(sqlite) <= 20,
    },
    {
      target: `fire-time error p99 ≤ 100 ms, ${count(schedule.agents)} agents`,
      measured: `${schedule.fireErrorMs.p99} ms`,
      pass: schedule.fireErrorMs.p99 <= 100,
    },
  ];
  return { fleets, apis, schedule, verdicts };
}
