import { randomBytes } from 'node:crypto';
import { startContainerd } from '../test/helpers/containerd.js';
import { startPodman } from '../test/helpers/podman.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { type LatencySummary, measureInvokeLatency } from './invoke-latency.js';

/**
 * `echo hi` on the host, in a podman container (its Docker-compatible API) and in a containerd
 * container (CRI), the same number of runs each, one local agent each: InvokeCommand answered →
 * Success visible.
 */
export async function measureContainerOverhead(server: ServerProcess, runs: number) {
  const suffix = randomBytes(4).toString('hex');
  const podman = await startPodman();
  const containerd = await startContainerd(`oa-bench-cri-${suffix}`);
  try {
    const containerId = await podman.startContainer(`oa-bench-${suffix}`);
    const host = await measureInvokeLatency(server, runs, { firstInstruction: false });
    const docker = await measureInvokeLatency(server, runs, {
      firstInstruction: false,
      agentEnv: { DOCKER_HOST: `unix://${podman.socket}` },
      containerId,
    });
    const cri = await measureInvokeLatency(server, runs, {
      firstInstruction: false,
      agentEnv: { CONTAINER_RUNTIME_ENDPOINT: `unix://${containerd.socket}` },
      containerId: `containerd://${containerd.containerId}`,
    });
    const p50 = (summary: LatencySummary) => summary.toResultVisibleMs.p50;
    const versus = (summary: LatencySummary) =>
      `p50 ${p50(summary)} ms (+${(p50(summary) - p50(host)).toFixed(1)} ms, ×${(p50(summary) / p50(host)).toFixed(1)}), p99 ${summary.toResultVisibleMs.p99} ms`;
    console.log(
      `echo hi, ${runs} runs each, Success visible: host p50 ${p50(host)} ms, p99 ${host.toResultVisibleMs.p99} ms; Docker API (podman) ${versus(docker)}; CRI (containerd) ${versus(cri)}`,
    );
    return { scenario: 'container exec vs host script, echo hi', runs, host, docker, cri };
  } finally {
    await containerd.stop();
    await podman.stop();
  }
}
