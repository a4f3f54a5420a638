import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { signCall } from '../src/client/sign.js';
import { dropSchema, newSchemaName, postgresBaseUrl, postgresUrlFor } from '../test/helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { startLoadProcess } from './load-process.js';
import { cpuSeconds } from './proc.js';
import { seededInstanceId, seededInvokeId, seedPostgres, seedSqlite } from './seed-results.js';
import { apiOf, summary } from './stats.js';

export interface Throughput {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly non2xx: number;
  readonly total: number;
  /** The server process's CPU (all its threads) per request, in ms: what the rate costs, whatever else runs. */
  readonly serverCpuMsPerRequest: number;
  /** When the load ran (wall clock, ms): what other records of the run (a statement log) are matched with. */
  readonly window?: { readonly fromMs: number; readonly toMs: number };
}

export interface ApiThroughput {
  readonly database: 'sqlite' | 'postgres';
  /** Signed InvokeCommand on one instance each (50 memory-mode agents answer every run). */
  readonly invokeCommand: Throughput;
  /** Results stored when the DescribeInvocationResults figures were taken. */
  readonly storedResults: number;
  readonly seedSeconds: number;
  /** DescribeInvocationResults by InvokeId, under load. */
  readonly describeResults: Throughput;
  /** One call at a time, each kind of query: p50/p99/max in ms. */
  readonly queryLatencyMs: Record<string, { p50: number; p99: number; max: number }>;
}

const connections = 16;
const agents = 50;
/** Results per seeded invocation, and the instances they spread over. */
const width = 10;
const seededInstances = 1000;

const pick = <T>(items: readonly T[], i: number): T => items[i % items.length] as T;

/** Requests signed up front, ready to be driven against their server. */
export interface SignedLoad {
  /** Drives the requests for `seconds` with autocannon; past the last one it replays it (refused as a replay). */
  run(seconds: number): Promise<Throughput>;
}

/** Signs `count` requests up front (a fresh nonce and signature each), so signing costs the run nothing. */
export async function signLoad(
  server: ServerProcess,
  count: number,
  request: (i: number) => { action: string; params: Record<string, string> },
): Promise<SignedLoad> {
  const client = {
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  const presigned = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const { action, params } = request(i);
      const { url, headers } = await signCall(
        client,
        action,
        new Map(Object.entries({ RegionId: 'cn-hangzhou', ...params })),
      );
      return { path: url.slice(server.url.length), headers };
    }),
  );
  return {
    async run(seconds) {
      let next = 0;
      const pid = server.child.pid ?? 0;
      const cpuBefore = await cpuSeconds(pid);
      const run = await autocannon({
        url: server.url,
        connections,
        duration: seconds,
        requests: [
          { method: 'POST', setupRequest: (req) => ({ ...req, ...(presigned[next++] ?? presigned.at(-1)) }) },
        ],
      });
      const cpuMs = ((await cpuSeconds(pid)) - cpuBefore) * 1000;
      return {
        requestsPerSecond: Math.round(run.requests.average),
        latencyP50Ms: run.latency.p50,
        latencyP99Ms: run.latency.p99,
        non2xx: run.non2xx,
        total: run.requests.total,
        serverCpuMsPerRequest: Math.round((cpuMs / Math.max(1, run.requests.total)) * 1000) / 1000,
      };
    },
  };
}

/** Signs `count` requests up front, then drives them with autocannon for `seconds`. */
export async function drive(
  server: ServerProcess,
  seconds: number,
  count: number,
  request: (i: number) => { action: string; params: Record<string, string> },
): Promise<Throughput> {
  const load = await signLoad(server, count, request);
  const fromMs = performance.timeOrigin + performance.now();
  const throughput = await load.run(seconds);
  return { ...throughput, window: { fromMs, toMs: performance.timeOrigin + performance.now() } };
}

/** Each query kind `calls` times, one at a time; its latency as the client sees it. */
async function queryLatencies(server: ServerProcess, invocations: number, calls: number) {
  const call = apiOf(server);
  const kinds: Record<string, (i: number) => Record<string, string>> = {
    'by InvokeId': (i) => ({ InvokeId: seededInvokeId(1 + ((i * 7919) % invocations)) }),
    'by InstanceId, newest 10': (i) => ({ InstanceId: seededInstanceId(1 + ((i * 31) % seededInstances)) }),
    'by InstanceId and status Failed': (i) => ({
      InstanceId: seededInstanceId(1 + ((i * 31) % seededInstances)),
      InvokeRecordStatus: 'Failed',
    }),
  };
  const latency: Record<string, { p50: number; p99: number; max: number }> = {};
  for (const [kind, params] of Object.entries(kinds)) {
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const started = performance.now();
      await call('DescribeInvocationResults', params(i));
      times.push(performance.now() - started);
    }
    latency[kind] = summary(times);
  }
  // NextToken paging: five pages of 10 of one instance's results, each page timed.
  const pages: number[] = [];
  for (let i = 0; i < Math.ceil(calls / 5); i++) {
    let token = '';
    for (let page = 0; page < 5; page++) {
      const started = performance.now();
      const body = (await call('DescribeInvocationResults', {
        InstanceId: seededInstanceId(1 + ((i * 17) % seededInstances)),
        MaxResults: '10',
        ...(token && { NextToken: token }),
      })) as { Invocation: { NextToken?: string } };
      pages.push(performance.now() - started);
      token = body.Invocation.NextToken ?? '';
    }
  }
  latency['by InstanceId, NextToken pages 1-5'] = summary(pages);
  return latency;
}

/**
 * On one database: signed InvokeCommand throughput against 50 memory-mode agents; then the server
 * stops, `results` finished results are seeded into its database (copies of a real one, over
 * 1,000 instances, 10 per invocation), and it starts again for DescribeInvocationResults
 * throughput and the latency of filtered and paged queries.
 */
export async function measureApiThroughput(
  database: 'sqlite' | 'postgres',
  results: number,
  seconds: number,
  /** More environment for the server process (a profile: `NODE_OPTIONS=--cpu-prof`). */
  serverEnv: Record<string, string> = {},
): Promise<ApiThroughput> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openassist-bench-api-'));
  const schema = newSchemaName();
  const databaseUrl = database === 'postgres' ? postgresUrlFor(schema) : undefined;
  const start = (listenAndKey?: ServerProcess) =>
    startServerProcess({
      dataDir,
      ...(databaseUrl && { databaseUrl }),
      env: { OPENASSIST_LOG_LEVEL: 'warn', ...serverEnv },
      ...(listenAndKey && {
        accessKey: { id: listenAndKey.accessKeyId, secret: listenAndKey.accessKeySecret },
      }),
    });
  try {
    let server = await start();
    const call = apiOf(server);
    const activation = await call('CreateActivation', { InstanceCount: String(agents) });
    const fleet = await startLoadProcess({
      serverUrl: server.url,
      activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
      count: agents,
      mode: 'memory',
    });
    let templateInvokeId = '';
    let invokeCommand: Throughput;
    try {
      const command = await call('CreateCommand', {
        Name: 'api-throughput',
        Type: 'RunShellScript',
        ContentEncoding: 'PlainText',
        CommandContent: 'echo hi',
      });
      const invoke = (i: number) => ({
        action: 'InvokeCommand',
        params: { CommandId: String(command.CommandId), 'InstanceId.1': pick(fleet.instanceIds, i) },
      });
      const template = await call('InvokeCommand', invoke(0).params);
      templateInvokeId = String(template.InvokeId);
      invokeCommand = await drive(server, seconds, seconds * 3_000, invoke);
    } finally {
      await fleet.stop();
    }
    await server.stop();

    const invocations = Math.ceil(results / width);
    const plan = { templateInvokeId, invocations, width, instances: seededInstances };
    const seedStart = performance.now();
    if (database === 'sqlite') seedSqlite(join(dataDir, 'openassist.db'), plan);
    else await seedPostgres(postgresBaseUrl, schema, plan);
    const seedSeconds = Math.round((performance.now() - seedStart) / 100) / 10;

    server = await start(server);
    try {
      const describeResults = await drive(server, seconds, seconds * 6_000, (i) => ({
        action: 'DescribeInvocationResults',
        params: { InvokeId: seededInvokeId(1 + ((i * 7919) % invocations)) },
      }));
      const queryLatencyMs = await queryLatencies(server, invocations, seconds >= 10 ? 200 : 50);
      return {
        database,
        invokeCommand,
        storedResults: invocations * width + invokeCommand.total,
        seedSeconds,
        describeResults,
        queryLatencyMs,
      };
    } finally {
      await server.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
    if (database === 'postgres') await dropSchema(schema).catch(() => undefined);
  }
}
