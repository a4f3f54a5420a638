import { type AgentProcess, startAgentProcess } from '../test/helpers/agent-process.js';
import { waitFor } from '../test/helpers/deadline.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { apiOf, summary } from './stats.js';

export interface AccuracySummary {
  readonly agents: number;
  readonly runs: number;
  /** From the scheduled fire time to the script's first instruction. */
  readonly lateByMs: { p50: number; p99: number; max: number };
}

const periodMs = 10_000;

/**
 * A cron every 10 s (`0/10 * * * * ?`, so every fire time is a multiple of 10 s since the epoch)
 * on several local agents at once; each run prints the wall clock in ns as its first instruction.
 * How late a run started is that clock minus the 10-second boundary before it, read back through
 * DescribeInvocationResults with IncludeHistory.
 */
export async function measureScheduleAccuracy(
  server: ServerProcess,
  agentCount: number,
  runsWanted: number,
): Promise<AccuracySummary> {
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: String(agentCount) });
  const agents: AgentProcess[] = [];
  try {
    for (let i = 0; i < agentCount; i++) {
      agents.push(
        await startAgentProcess({
          serverUrl: server.url,
          activationId: String(activation.ActivationId),
          activationCode: String(activation.ActivationCode),
        }),
      );
    }
    const invoked = await call('RunCommand', {
      Type: 'RunShellScript',
      CommandContent: 'date +%s%N',
      Frequency: '0/10 * * * * ?',
      Timeout: '10',
      ...Object.fromEntries(agents.map((agent, i) => [`InstanceId.${i + 1}`, agent.instanceId])),
    });
    const invokeId = String(invoked.InvokeId);
    const lateBy = await waitFor(
      `${runsWanted} scheduled runs`,
      async () => {
        const late: number[] = [];
        for (let page = 1; ; page++) {
          const body = (await call('DescribeInvocationResults', {
            InvokeId: invokeId,
            IncludeHistory: 'true',
            ContentEncoding: 'PlainText',
            PageSize: '50',
            PageNumber: String(page),
          })) as {
            Invocation: {
              TotalCount: number;
              InvocationResults: { InvocationResult: { InvocationStatus: string; Output: string }[] };
            };
          };
          const results = body.Invocation.InvocationResults.InvocationResult;
          for (const result of results) {
            if (result.InvocationStatus !== 'Success') continue;
            const startedMs = Number(BigInt(result.Output.trim()) / 1000n) / 1000;
            late.push(startedMs - Math.floor(startedMs / periodMs) * periodMs);
          }
          if (results.length < 50) break;
        }
        return late.length >= runsWanted ? late : undefined;
      },
      (Math.ceil(runsWanted / agentCount) + 3) * periodMs,
    );
    await call('StopInvocation', { InvokeId: invokeId });
    return { agents: agentCount, runs: lateBy.length, lateByMs: summary(lateBy) };
  } finally {
    for (const agent of agents) await agent.stop();
  }
}
