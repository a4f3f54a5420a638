import { readFile } from 'node:fs/promises';
import { type AgentProcess, startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { apiOf, summary } from './stats.js';

/** Resident memory of a process, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** CPU seconds a process has used (user + system). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
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
    // Idle footprint: one agent and the server, over `idleMs` of nothing to do.
    const agentPid = agents[0]?.child.pid ?? 0;
    const serverPid = server.child.pid ?? 0;
    const cpuBefore = await cpuSeconds(agentPid);
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    const agentCpuPercent = (((await cpuSeconds(agentPid)) - cpuBefore) / (idleMs / 1000)) * 100;
    return {
      width,
      reps,
      allSuccessMs: summary(times),
      agentIdleRssMiB: Math.round(await rssMiB(agentPid)),
      agentIdleCpuPercent: Math.round(agentCpuPercent * 100) / 100,
      serverRssMiB: Math.round(await rssMiB(serverPid)),
    };
  } finally {
    await Promise.all(agents.map((agent) => agent.stop()));
  }
}
