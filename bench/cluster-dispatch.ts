import type { ServerProcess } from '../test/helpers/server-process.js';
import { startClusterNodes } from './cluster-nodes.js';
import { measureInvokeLatency } from './invoke-latency.js';

/**
 * Two server nodes on one PostgreSQL schema: `echo hi` invoked on node A for an agent on node A
 * (same node) and for an agent on node B (cross-node: a NOTIFY carries the wake-up), the same
 * number of runs each, measured in one run.
 */
export async function measureClusterDispatch(runs: number) {
  const cluster = await startClusterNodes(2);
  const [nodeA, nodeB] = cluster.nodes as [ServerProcess, ServerProcess];
  try {
    const sameNode = await measureInvokeLatency(nodeA, runs);
    const crossNode = await measureInvokeLatency(nodeA, runs, { agentServerUrl: nodeB.url });
    const first = (summary: typeof sameNode) =>
      summary.toFirstInstructionMs ?? { p50: Number.NaN, p99: Number.NaN };
    console.log(
      `PostgreSQL, ${runs} runs each, first instruction: same node p50 ${first(sameNode).p50} ms, p99 ${first(sameNode).p99} ms; cross-node p50 ${first(crossNode).p50} ms, p99 ${first(crossNode).p99} ms (×${(first(crossNode).p50 / first(sameNode).p50).toFixed(2)})`,
    );
    return { scenario: 'dispatch latency, same node vs cross-node (PostgreSQL)', runs, sameNode, crossNode };
  } finally {
    await cluster.stop();
  }
}
