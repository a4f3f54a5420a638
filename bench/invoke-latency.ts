import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { cpuSeconds } from './proc.js';
import { Ecs, sdkOf } from './sdk.js';
import { apiOf, summary } from './stats.js';

export interface LatencySummary {
  readonly runs: number;
  /** Absent where the script cannot print the clock in ns (busybox date has no %N). */
  readonly toFirstInstructionMs?: { p50: number; p99: number; max: number };
  readonly toResultVisibleMs: { p50: number; p99: number; max: number };
  /** CPU per run (InvokeCommand and the polls until Success) of the server and of the agent. */
  readonly serverCpuMsPerRun: number;
  readonly agentCpuMsPerRun: number;
}

export interface LatencyOptions {
  /** The agent's environment (e.g. DOCKER_HOST for container runs). */
  readonly agentEnv?: Record<string, string>;
  /** InvokeCommand's ContainerId: the run goes into that container. */
  readonly containerId?: string;
  /** Time the script's first instruction too (it prints bash's clock, `$EPOCHREALTIME`). */
  readonly firstInstruction?: boolean;
  /** The node the agent connects to, when not the one invoked (a cluster's cross-node dispatch). */
  readonly agentServerUrl?: string;
  /** Runs the agent's single executable instead of `openassist agent`. */
  readonly agentExecutable?: string;
}

const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

/**
 * The script's first instruction prints bash's own clock, a builtin: timed with `date +%s%N`, as
 * until 2026-12-08, the figure held `date`'s fork and exec (1-2 ms), which `echo hi` does not run.
 */
const firstInstructionScript = 'echo "$EPOCHREALTIME"\necho hi';

/** `$EPOCHREALTIME` ("seconds.microseconds", the locale's decimal mark) in ns. */
export function epochRealtimeNs(printed: string): bigint {
  const match = /^(\d+)[.,](\d{6})$/.exec(printed.trim());
  if (!match) throw new Error(`the script printed ${JSON.stringify(printed)}, not bash's $EPOCHREALTIME`);
  return BigInt(match[1] as string) * 1_000_000_000n + BigInt(match[2] as string) * 1_000n;
}

/**
 * `echo hi` on one local agent, as a user of the official SDK sees it (signed V3 over HTTP): from
 * the moment InvokeCommand is called to the script's first instruction (it prints the wall clock)
 * and to `Success` being visible in DescribeInvocationResults (polled through the SDK, a
 * millisecond after each answer).
 */
export async function measureInvokeLatency(
  server: ServerProcess,
  runs: number,
  options: LatencyOptions = {},
): Promise<LatencySummary> {
  const firstInstruction = options.firstInstruction ?? true;
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: '1' });
  const agent = await startAgentProcess({
    serverUrl: options.agentServerUrl ?? server.url,
    activationId: String(activation.ActivationId),
    activationCode: String(activation.ActivationCode),
    ...(options.agentEnv && { env: options.agentEnv }),
    ...(options.agentExecutable && { executable: options.agentExecutable }),
  });
  try {
    const command = await call('CreateCommand', {
      Name: 'latency',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: firstInstruction ? firstInstructionScript : 'echo hi',
    });
    const sdk = sdkOf(server);
    const first: number[] = [];
    const visible: number[] = [];
    const serverPid = server.child.pid ?? 0;
    const agentPid = agent.child.pid ?? 0;
    const serverCpuBefore = await cpuSeconds(serverPid);
    const agentCpuBefore = await cpuSeconds(agentPid);
    for (let i = 0; i < runs; i++) {
      const calledNs = nowNs();
      const invoked = await sdk.invokeCommand(
        new Ecs.InvokeCommandRequest({
          regionId: 'cn-hangzhou',
          commandId: String(command.CommandId),
          instanceId: [agent.instanceId],
          ...(options.containerId && { containerId: options.containerId }),
        }),
      );
      const invokeId = invoked.body?.invokeId ?? '';
      for (;;) {
        const { body } = await sdk.describeInvocationResults(
          new Ecs.DescribeInvocationResultsRequest({
            regionId: 'cn-hangzhou',
            invokeId,
            contentEncoding: 'PlainText',
          }),
        );
        const result = body?.invocation?.invocationResults?.invocationResult?.[0];
        if (result?.invocationStatus === 'Success') {
          visible.push(Number(nowNs() - calledNs) / 1e6);
          if (firstInstruction)
            first.push(Number(epochRealtimeNs((result.output ?? '').split('\n')[0] ?? '') - calledNs) / 1e6);
          break;
        }
        if (result && result.invocationStatus !== 'Pending' && result.invocationStatus !== 'Running') {
          throw new Error(`run ${i} ended ${result.invocationStatus}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const cpuMsPerRun = async (pid: number, before: number) =>
      Math.round((((await cpuSeconds(pid)) - before) * 1e6) / runs) / 1000;
    return {
      runs,
      ...(firstInstruction && { toFirstInstructionMs: summary(first) }),
      toResultVisibleMs: summary(visible),
      serverCpuMsPerRun: await cpuMsPerRun(serverPid, serverCpuBefore),
      agentCpuMsPerRun: await cpuMsPerRun(agentPid, agentCpuBefore),
    };
  } finally {
    await agent.stop();
  }
}
