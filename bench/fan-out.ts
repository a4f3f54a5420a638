import { type AgentProcess, startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { cpuSeconds, rssMiB } from './proc.js';
import { apiOf, summary } from './stats.js';

/** The share of a core a process used over the next `ms`, in percent. */
async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const before = await cpuSeconds(pid);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return Math.round((((await cpuSeconds(pid)) - before) / (ms / 1000)) * 100 * 100) / 100;
}

/**
 * One InvokeCommand to `width` real agents, from the request to every run's `Success` visible
 * (DescribeInvocations polled every millisecond), `reps` times; then the agents' and server's idle
 * footprint.
 */
export async function measureFanOut(server: ServerProcess, width: number, reps: number, idleMs: number) {
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: String(width) });
  const agents: AgentProcess[] = [];
  try {
    for (let at = 0; at < width; at += 10) {
      agents.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(10, width - at) }, () =>
            startAgentProcess({
              serverUrl: server.url,
              activationId: String(activation.ActivationId),
              activationCode: String(activation.ActivationCode),
            }),
          ),
        )),
      );
    }
    const command = await call('CreateCommand', {
      Name: 'fan-out',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo hi',
    });
    const targets = Object.fromEntries(agents.map((agent, i) => [`InstanceId.${i + 1}`, agent.instanceId]));
    const times: number[] = [];
    for (let rep = 0; rep < reps; rep++) {
      const started = performance.now();
      const { InvokeId } = await call('InvokeCommand', {
        CommandId: String(command.CommandId),
        ...targets,
      });
      for (;;) {
        const body = (await call('DescribeInvocations', { InvokeId: String(InvokeId) })) as {
          Invocations: { Invocation: { InvocationStatus: string }[] };
        };
        const status = body.Invocations.Invocation[0]?.InvocationStatus;
        if (status === 'Success') break;
        if (status && !['Pending', 'Running'].includes(status)) throw new Error(`fan-out ended ${status}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      times.push(performance.now() - started);
    }
    // Idle footprint: one agent and the server with nothing to do, over two windows of `idleMs`. The
    // first follows the runs and can hold V8's one-off collection that gives memory back once the
    // allocations stop (tens of ms of CPU); the second is the agent at rest, which the target is about.
    const agentPid = agents[0]?.child.pid ?? 0;
    const serverPid = server.child.pid ?? 0;
    const agentAfterRunsCpuPercent = await cpuPercentOver(agentPid, idleMs);
    const agentIdleCpuPercent = await cpuPercentOver(agentPid, idleMs);
    return {
      width,
      reps,
      allSuccessMs: summary(times),
      agentIdleRssMiB: Math.round(await rssMiB(agentPid)),
      agentAfterRunsCpuPercent,
      agentIdleCpuPercent,
      serverRssMiB: Math.round(await rssMiB(serverPid)),
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
  }
}
