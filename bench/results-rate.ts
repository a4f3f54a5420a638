import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../test/helpers/deadline.js';
import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { drive, type Throughput } from './api-throughput.js';
import { startLoadProcess } from './load-process.js';
import { seededInvokeId, seedSqlite } from './seed-results.js';
import { apiOf } from './stats.js';

/** One server build under test: a label and its bin/openassist (undefined: this checkout's). */
export interface Contender {
  readonly label: string;
  readonly bin?: string | undefined;
}

export interface ResultsRateRound {
  readonly round: number;
  readonly label: string;
  readonly describeResults: Throughput;
}

/** Results per seeded invocation, and the instances they spread over (as api-throughput.ts seeds). */
const width = 10;
const seededInstances = 1000;

/** One real finished run on one memory-mode agent: the row every seeded result copies. */
async function templateRun(server: ServerProcess): Promise<string> {
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: '1' });
  const fleet = await startLoadProcess({
    serverUrl: server.url,
    activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
    count: 1,
    mode: 'memory',
  });
  try {
    const command = await call('CreateCommand', {
      Name: 'results-rate',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo hi',
    });
    const invoke = await call('InvokeCommand', {
      CommandId: String(command.CommandId),
      'InstanceId.1': fleet.instanceIds[0] ?? '',
    });
    const invokeId = String(invoke.InvokeId);
    await waitFor(
      'the template run to finish',
      async () => {
        const body = (await call('DescribeInvocationResults', { InvokeId: invokeId })) as {
          Invocation: { InvocationResults: { InvocationResult: { InvokeRecordStatus: string }[] } };
        };
        return body.Invocation.InvocationResults.InvocationResult[0]?.InvokeRecordStatus === 'Finished';
      },
      30_000,
    );
    return invokeId;
  } finally {
    await fleet.stop();
  }
}

/**
 * DescribeInvocationResults by InvokeId over `results` seeded results on SQLite, one database
 * seeded once and served in turn by each contender (A, B, A, B …): alternated rounds on the same
 * data, so the machine's other load falls on both alike.
 */
export async function measureResultsRate(
  contenders: readonly Contender[],
  results: number,
  seconds: number,
  rounds: number,
  log: (line: string) => void,
): Promise<ResultsRateRound[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'openassist-bench-results-'));
  try {
    const first = await startServerProcess({ dataDir, bin: contenders[0]?.bin });
    const key = { id: first.accessKeyId, secret: first.accessKeySecret };
    let templateInvokeId: string;
    try {
      templateInvokeId = await templateRun(first);
    } finally {
      await first.stop();
    }
    const invocations = Math.ceil(results / width);
    const seedStart = performance.now();
    seedSqlite(join(dataDir, 'openassist.db'), {
      templateInvokeId,
      invocations,
      width,
      instances: seededInstances,
    });
    log(`seeded ${invocations * width} results in ${Math.round((performance.now() - seedStart) / 1000)} s`);
    const rows: ResultsRateRound[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const contender of contenders) {
        const server = await startServerProcess({ dataDir, bin: contender.bin, accessKey: key });
        try {
          const describeResults = await drive(server, seconds, seconds * 8_000, (i) => ({
            action: 'DescribeInvocationResults',
            params: { InvokeId: seededInvokeId(1 + ((i * 7919) % invocations)) },
          }));
          rows.push({ round, label: contender.label, describeResults });
          log(
            `round ${round} ${contender.label.padEnd(10)} ${describeResults.requestsPerSecond}/s p50 ${describeResults.latencyP50Ms} ms p99 ${describeResults.latencyP99Ms} ms, server CPU ${describeResults.serverCpuMsPerRequest} ms/call, non-2xx ${describeResults.non2xx}`,
          );
        } finally {
          await server.stop();
        }
      }
    }
    return rows;
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
