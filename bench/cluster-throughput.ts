import { readdir, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { type SignedLoad, signLoad, type Throughput } from './api-throughput.js';
import { startClusterNodes } from './cluster-nodes.js';
import { type LoadProcess, startLoadProcess } from './load-process.js';
import type { Verdict } from './report.js';
import { apiOf } from './stats.js';

/** Agents per node: memory-mode identities answering every run at once. */
const agentsPerNode = 25;

/** CPU seconds of every PostgreSQL process on the machine (postmaster, backends, writers). */
async function postgresCpuSeconds(): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the process ended while the list was read
    }
  }
  return total;
}

export interface ClusterPhase {
  readonly nodes: number;
  /** Calls per second, all nodes together. */
  readonly requestsPerSecond: number;
  /** Each node's own run: its rate and its server process's CPU per call. */
  readonly perNode: readonly Throughput[];
  /** PostgreSQL's CPU (all its processes) per call answered by any node, in ms. */
  readonly databaseCpuMsPerCall: number;
}

export interface ClusterThroughput {
  readonly seconds: number;
  readonly one: ClusterPhase;
  readonly two: ClusterPhase;
  /** Two nodes' rate over one node's, both measured here, where everything shares this machine's cores. */
  readonly measuredRatio: number;
  /**
   * Two nodes' rate over one node's with each node on a machine of its own and the database on a
   * machine like this one: min(2 × node, database) / min(node, database), where a node serves
   * 1000 / (its CPU ms a call) calls a second on the core its event loop runs on and the database
   * cores × 1000 / (its CPU ms a call).
   */
  readonly projectedRatio: number;
  readonly nodeCallsPerSecond: number;
  readonly databaseCallsPerSecond: number;
}

const round = (value: number, places = 3) => Math.round(value * 10 ** places) / 10 ** places;

/** Drives the nodes' signed loads at once and reads what the database spent meanwhile. */
async function phase(loads: readonly SignedLoad[], seconds: number): Promise<ClusterPhase> {
  const databaseBefore = await postgresCpuSeconds();
  const perNode = await Promise.all(loads.map((load) => load.run(seconds)));
  const databaseMs = ((await postgresCpuSeconds()) - databaseBefore) * 1000;
  const calls = perNode.reduce((sum, node) => sum + node.total, 0);
  return {
    nodes: loads.length,
    requestsPerSecond: perNode.reduce((sum, node) => sum + node.requestsPerSecond, 0),
    perNode,
    databaseCpuMsPerCall: round(databaseMs / Math.max(1, calls)),
  };
}

/**
 * Two server nodes on one PostgreSQL schema, each holding 25 memory-mode agents: signed
 * InvokeCommand (16 connections a node) on node A alone, then on both nodes at once, each node's
 * calls naming its own agents. On this machine everything shares its cores, so the run's ratio
 * is bounded by them; the projection puts each node on a machine of its own.
 */
export async function measureClusterThroughput(seconds: number): Promise<ClusterThroughput> {
  const cluster = await startClusterNodes(2);
  const { nodes } = cluster;
  const fleets: LoadProcess[] = [];
  try {
    const [nodeA] = nodes as [ServerProcess, ServerProcess];
    const call = apiOf(nodeA);
    const activation = await call('CreateActivation', { InstanceCount: String(2 * agentsPerNode) });
    const command = await call('CreateCommand', {
      Name: 'cluster-throughput',
      Type: 'RunShellScript',
      ContentEncoding: 'PlainText',
      CommandContent: 'echo hi',
    });
    for (const node of nodes) {
      fleets.push(
        await startLoadProcess({
          serverUrl: node.url,
          activations: [{ id: String(activation.ActivationId), code: String(activation.ActivationCode) }],
          count: agentsPerNode,
          mode: 'memory',
          namePrefix: `cluster-${fleets.length}`,
        }),
      );
    }
    // Each phase signs its own requests: a nonce is used once.
    const loadsOf = (count: number) =>
      Promise.all(
        nodes.slice(0, count).map((node, n) =>
          signLoad(node, seconds * 3_000, (i) => ({
            action: 'InvokeCommand',
            params: {
              CommandId: String(command.CommandId),
              'InstanceId.1': fleets[n]?.instanceIds[i % agentsPerNode] as string,
            },
          })),
        ),
      );
    const one = await phase(await loadsOf(1), seconds);
    const two = await phase(await loadsOf(2), seconds);
    const nodeCpuMs = one.perNode[0]?.serverCpuMsPerRequest ?? Number.NaN;
    const nodeCallsPerSecond = 1000 / nodeCpuMs;
    const databaseCallsPerSecond = (cpus().length * 1000) / one.databaseCpuMsPerCall;
    return {
      seconds,
      one,
      two,
      measuredRatio: round(two.requestsPerSecond / one.requestsPerSecond, 2),
      projectedRatio: round(
        Math.min(2 * nodeCallsPerSecond, databaseCallsPerSecond) /
          Math.min(nodeCallsPerSecond, databaseCallsPerSecond),
        2,
      ),
      nodeCallsPerSecond: Math.round(nodeCallsPerSecond),
      databaseCallsPerSecond: Math.round(databaseCallsPerSecond),
    };
  } finally {
    for (const fleet of fleets) await fleet.stop();
    await cluster.stop();
  }
}

/** The bench's lines and verdict for the cluster rows. */
export function describeClusterThroughput(result: ClusterThroughput): { lines: string[]; verdict: Verdict } {
  const node = (t: Throughput) => `${t.requestsPerSecond}/s at ${t.serverCpuMsPerRequest} ms CPU a call`;
  return {
    lines: [
      `InvokeCommand on PostgreSQL, one node: ${node(result.one.perNode[0] as Throughput)}, database ${result.one.databaseCpuMsPerCall} ms CPU a call`,
      `two nodes at once: ${result.two.requestsPerSecond}/s (${result.two.perNode.map(node).join('; ')}), database ${result.two.databaseCpuMsPerCall} ms CPU a call: ×${result.measuredRatio} on this machine's ${cpus().length} shared cores`,
      `projected with a machine per node: a node ${result.nodeCallsPerSecond}/s, the database (${cpus().length} cores) ${result.databaseCallsPerSecond}/s: two nodes ×${result.projectedRatio}`,
    ],
    verdict: {
      target: 'two nodes on one PostgreSQL ≥ 1.6× one node (projected from CPU per call)',
      measured: `×${result.projectedRatio} projected (node ${result.nodeCallsPerSecond}/s, database ${result.databaseCallsPerSecond}/s); ×${result.measuredRatio} measured on ${cpus().length} shared cores`,
      pass: result.projectedRatio >= 1.6,
    },
  };
}
