import { randomBytes } from 'node:crypto';
import { startPodman } from '../test/helpers/podman.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { measureInvokeLatency } from './invoke-latency.js';

/**
 * `echo hi` on the host and in a podman container (through its Docker-compatible API), the same
 * number of runs each, one local agent each: InvokeCommand answered → Success visible.
 */
export async function measureContainerOverhead(server: ServerProcess, runs: number) {
  const podman = await startPodman();
  try {
    const containerId = await podman.startContainer(`oa-bench-${randomBytes(4).toString('hex')}`);
    const host = await measureInvokeLatency(server, runs, { firstInstruction: false });
    const container = await measureInvokeLatency(server, runs, {
      firstInstruction: false,
      agentEnv: { DOCKER_HOST: `unix://${podman.socket}` },
      invokeParams: { ContainerId: containerId },
    });
    const overheadP50 =
      Math.round((container.toResultVisibleMs.p50 - host.toResultVisibleMs.p50) * 100) / 100;
    console.log(
      `echo hi, ${runs} runs each, Success visible: host p50 ${host.toResultVisibleMs.p50} ms, container p50 ${container.toResultVisibleMs.p50} ms (+${overheadP50} ms, ×${(container.toResultVisibleMs.p50 / host.toResultVisibleMs.p50).toFixed(1)}); p99 ${host.toResultVisibleMs.p99} / ${container.toResultVisibleMs.p99} ms`,
    );
    return {
      scenario: 'container exec vs host script, echo hi',
      runs,
      host,
      container,
      overheadP50Ms: overheadP50,
    };
  } finally {
    await podman.stop();
  }
}
