import { callApi } from '../src/cli/api-client.js';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { summary } from './stats.js';

export interface LatencySummary {
  readonly runs: number;
  readonly toFirstInstructionMs: { p50: number; p99: number; max: number };
  readonly toResultVisibleMs: { p50: number; p99: number; max: number };
}

const nowNs = (): bigint => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

/**
 * `echo hi` on one local agent, measured from the moment the InvokeCommand response arrives: to the
 * script's first instruction (it prints the wall clock in ns) and to `Success` being visible in
 * DescribeInvocationResults (polled every millisecond).
 */
export async function measureInvokeLatency(server: ServerProcess, runs: number): Promise<LatencySummary> {
  const client = {
    endpoint: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  const call = async (action: string, params: Record<string, string>) => {
    const response = await callApi(
      client,
      action,
      new Map(Object.entries({ RegionId: 'cn-hangzhou', ...params })),
    );
    if (response.status !== 200) throw new Error(`${action}: ${JSON.stringify(response.body)}`);
    return response.body;
  };
  const activation = await call('CreateActivation', { InstanceCount: '1' });
  const agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: String(activation.ActivationId),
    activationCode: String(activation.ActivationCode),
  });
  try {
    const command = await call('CreateCommand', {
      Name: 'latency',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'date +%s%N\necho hi',
    });
    const first: number[] = [];
    const visible: number[] = [];
    for (let i = 0; i < runs; i++) {
      const invoked = await call('InvokeCommand', {
        CommandId: String(command.CommandId),
        'InstanceId.1': agent.instanceId,
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
          first.push(Number(BigInt(result.Output.split('\n')[0] ?? '0') - answeredNs) / 1e6);
          break;
        }
        if (result && result.InvocationStatus !== 'Pending' && result.InvocationStatus !== 'Running') {
          throw new Error(`run ${i} ended ${result.InvocationStatus}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    return { runs, toFirstInstructionMs: summary(first), toResultVisibleMs: summary(visible) };
  } finally {
    await agent.stop();
  }
}
