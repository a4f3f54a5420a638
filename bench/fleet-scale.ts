import { type ServerProcess, startServerProcess } from '../test/helpers/server-process.js';
import { type LoadProcess, startLoadProcess } from './load-process.js';
import { cpuSeconds, rssMiB } from './proc.js';
import { apiOf } from './stats.js';

/** Instances per InvokeCommand: the API's limit. */
const perCall = 50;
/** InvokeCommand calls in flight at once. */
const callsInFlight = 8;

export interface FleetRun {
  readonly mode: 'memory' | 'spawn';
  readonly agents: number;
  /** From starting the generator(s) to every identity registered and welcomed. */
  readonly connectSeconds: number;
  readonly invokeCalls: number;
  /** From the first InvokeCommand to every invocation `Success` (DescribeInvocations polled). */
  readonly allSuccessSeconds: number;
  readonly serverCpuSeconds: number;
}

export interface FleetScale {
  readonly agents: number;
  readonly generatorProcesses: number;
  readonly serverRssBeforeMiB: number;
  readonly serverRssConnectedMiB: number;
  /** Server RSS grown by the connected agents, per agent (memory mode). */
  readonly serverKiBPerAgent: number;
  readonly runs: FleetRun[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Activations enough for `count` identities (InstanceCount is at most 1,000). */
async function activationsFor(call: ReturnType<typeof apiOf>, count: number) {
  const activations: { id: string; code: string }[] = [];
  for (let left = count; left > 0; left -= 1000) {
    const created = await call('CreateActivation', { InstanceCount: String(Math.min(1000, left)) });
    activations.push({ id: String(created.ActivationId), code: String(created.ActivationCode) });
  }
  return activations;
}

/** `count` identities in `processes` generator processes; each gets whole activations of its own. */
async function startGenerators(
  server: ServerProcess,
  count: number,
  processes: number,
  mode: 'memory' | 'spawn',
): Promise<LoadProcess[]> {
  const call = apiOf(server);
  const share = Math.ceil(count / processes);
  return Promise.all(
    Array.from({ length: processes }, async (_, p) =>
      startLoadProcess({
        serverUrl: server.url,
        activations: await activationsFor(call, Math.min(share, count - p * share)),
        count: Math.min(share, count - p * share),
        mode,
        namePrefix: `${mode}-${p}`,
        timeoutMs: 300_000,
      }),
    ),
  );
}

/** InvokeCommand on every agent, 50 instances a call, then waits for every invocation's Success. */
async function invokeEveryAgent(server: ServerProcess, instanceIds: readonly string[], deadlineMs: number) {
  const call = apiOf(server);
  const command = await call('CreateCommand', {
    Name: `fleet-${instanceIds.length}`,
    Type: 'RunShellScript',
    ContentEncoding: 'PlainText',
    CommandContent: 'echo hi',
  });
  const commandId = String(command.CommandId);
  const batches: string[][] = [];
  for (let at = 0; at < instanceIds.length; at += perCall) batches.push(instanceIds.slice(at, at + perCall));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: callsInFlight }, async () => {
      for (let at = next++; at < batches.length; at = next++) {
        const targets = (batches[at] ?? []).map((id, i) => [`InstanceId.${i + 1}`, id]);
        await call('InvokeCommand', { CommandId: commandId, ...Object.fromEntries(targets) });
      }
    }),
  );
  for (;;) {
    const body = (await call('DescribeInvocations', {
      CommandId: commandId,
      InvokeStatus: 'Success',
      MaxResults: '1',
    })) as { TotalCount: number };
    if (body.TotalCount >= batches.length) break;
    if (performance.now() - started > deadlineMs) {
      throw new Error(`only ${body.TotalCount} of ${batches.length} invocations succeeded in time`);
    }
    await sleep(100);
  }
  return { calls: batches.length, seconds: (performance.now() - started) / 1000 };
}

/**
 * `agents` load-generator identities on one fresh server process: memory mode first (connect time,
 * the server's memory per agent, InvokeCommand on every agent until all succeed), then, with
 * `spawnAgents` > 0, that many spawn-mode identities running the same invocation for real.
 */
export async function measureFleetScale(agents: number, spawnAgents: number): Promise<FleetScale> {
  const server = await startServerProcess({ env: { OPENASSIST_LOG_LEVEL: 'warn' } });
  const serverPid = server.child.pid ?? 0;
  const call = apiOf(server);
  const processes = agents > 5000 ? 2 : 1;
  try {
    // Warm the server's code paths, so its growth is the agents' and not its own first use.
    await call('DescribeInstances', {}).catch(() => undefined);
    await activationsFor(call, 1);
    await sleep(1_000);
    const serverRssBeforeMiB = await rssMiB(serverPid);
    const runs: FleetRun[] = [];
    let serverRssConnectedMiB = 0;
    for (const [mode, count] of [
      ['memory', agents],
      ['spawn', spawnAgents],
    ] as const) {
      if (count === 0) continue;
      const connectStart = performance.now();
      const generators = await startGenerators(server, count, mode === 'memory' ? processes : 1, mode);
      const connectSeconds = (performance.now() - connectStart) / 1000;
      try {
        if (mode === 'memory') {
          await sleep(3_000); // the hellos' writes and wake-ups settle
          serverRssConnectedMiB = await rssMiB(serverPid);
        }
        const cpuBefore = await cpuSeconds(serverPid);
        const invoked = await invokeEveryAgent(
          server,
          generators.flatMap((generator) => generator.instanceIds),
          mode === 'memory' ? 120_000 : 600_000,
        );
        runs.push({
          mode,
          agents: count,
          connectSeconds: Math.round(connectSeconds * 10) / 10,
          invokeCalls: invoked.calls,
          allSuccessSeconds: Math.round(invoked.seconds * 100) / 100,
          serverCpuSeconds: Math.round(((await cpuSeconds(serverPid)) - cpuBefore) * 100) / 100,
        });
      } finally {
        await Promise.all(generators.map((generator) => generator.stop()));
      }
    }
    return {
      agents,
      generatorProcesses: processes,
      serverRssBeforeMiB: Math.round(serverRssBeforeMiB),
      serverRssConnectedMiB: Math.round(serverRssConnectedMiB),
      serverKiBPerAgent: Math.round(((serverRssConnectedMiB - serverRssBeforeMiB) * 1024) / agents),
      runs,
    };
  } finally {
    await server.stop();
  }
}
