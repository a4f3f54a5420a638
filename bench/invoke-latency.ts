import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { apiOf, summary } from './stats.js';

export interface LatencySummary {
  readonly runs: number;
  /** Absent where the script cannot print the clock in ns (busybox date has no %N). */
  readonly toFirstInstructionMs?: { p50: number; p99: number; max: number };
  readonly toResultVisibleMs: { p50: number; p99: number; max: number };
}

export interface LatencyOptions {
  /** The agent's environment (e.g. DOCKER_HOST for container runs). */
  readonly agentEnv?: Record<string, string>;
  /** Extra InvokeCommand parameters (e.g. ContainerId). */
  readonly invokeParams?: Record<string, string>;
  /** Time the script's first instruction too (it prints the clock in ns). */
  readonly firstInstruction?: boolean;
  /** The node the agent connects to, when not the one invoked (a cluster's cross-node dispatch). */
  readonly agentServerUrl?: string;
}

const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

/**
 * `echo hi` on one local agent, measured from the moment the InvokeCommand response arrives: to the
 * script's first instruction (it prints the wall clock in ns) and to `Success` being visible in
 * DescribeInvocationResults (polled every millisecond).
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
  });
  try {
    const command = await call('CreateCommand', {
      Name: 'latency',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: firstInstruction ? 'date +%s%N\necho hi' : 'echo hi',
    });
    const first: number[] = [];
    const visible: number[] = [];
    for (let i = 0; i < runs; i++) {
      const invoked = await call('InvokeCommand', {
        CommandId: String(command.CommandId),
        'InstanceId.1': agent.instanceId,
        ...options.invokeParams,
      });
      const answeredNs = nowNs();
      for (;;) {
        const body = (await call('DescribeInvocationResults', {
          InvokeId: String(invoked.InvokeId),
          ContentEncoding: 'PlainText',
        })) as {
          Invocation: {
            InvocationResults: { InvocationResult: { InvocationStatus: string; Output: string }[] };
          };
        };
        const result = body.Invocation.InvocationResults.InvocationResult[0];
        if (result?.InvocationStatus === 'Success') {
          visible.push(Number(nowNs() - answeredNs) / 1e6);
          if (firstInstruction)
            first.push(Number(BigInt(result.Output.split('\n')[0] ?? '0') - answeredNs) / 1e6);
          break;
        }
        if (result && result.InvocationStatus !== 'Pending' && result.InvocationStatus !== 'Running') {
          throw new Error(`run ${i} ended ${result.InvocationStatus}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    return {
      runs,
      ...(firstInstruction && { toFirstInstructionMs: summary(first) }),
      toResultVisibleMs: summary(visible),
    };
  } finally {
    await agent.stop();
  }
}
