import type { FastifyBaseLogger } from 'fastify';
import { silentNodeMs } from '../service/cluster.js';
import type { Store } from '../store/store.js';

/** A job every node offers to run, run by one node at a time: the holder of its lease. */
interface LeasedJob {
  readonly name: string;
  readonly everyMs: number;
  run(): Promise<unknown>;
}

export interface ClusterJobsDeps {
  readonly store: Store;
  readonly logger: FastifyBaseLogger;
  readonly nowMs: () => number;
  readonly node: {
    readonly id: string;
    readonly url: string;
    readonly version: string;
    readonly startedAtMs: number;
  };
  /** Agents connected to this node, reported with its heartbeat. */
  readonly agents: () => number;
  readonly jobs: readonly LeasedJob[];
}

// A node heartbeats this often; one silent for `silentNodeMs` is taken for dead.
const heartbeatMs = 5_000;
// A lease outlives a few runs of its job, so a live holder keeps it and a dead one loses it soon.
const leaseRuns = 5;

/**
 * Runs this node's share of cluster-wide work: its heartbeat, and the jobs that must run once at a
 * time across all nodes (no fixed leader: whoever holds a job's lease runs it; when the holder
 * dies, its lease expires and a surviving node takes it over). Returns a stop function.
 */
export function startClusterJobs(deps: ClusterJobsDeps): () => void {
  const { store, logger, nowMs, node } = deps;
  const beat = () =>
    store.cluster
      .heartbeat({ ...node, heartbeatAtMs: nowMs(), agents: deps.agents() })
      .catch((error: unknown) => logger.warn({ err: error }, 'node heartbeat failed'));
  void beat();
  const timers = [setInterval(beat, heartbeatMs)];
  const jobs: LeasedJob[] = [
    ...deps.jobs,
    {
      name: 'forget-silent-nodes',
      everyMs: heartbeatMs,
      run: async () => {
        const gone = await store.cluster.forgetSilentNodes(nowMs() - silentNodeMs);
        // The terminal sessions a dead node relayed ended with it.
        for (const nodeId of gone)
          await store.terminalSessions.endOnNode(nodeId, { reason: 'ServerShutdown' }, nowMs());
        if (gone.length > 0)
          logger.warn(
            { nodes: gone },
            'silent server nodes forgotten; their agents marked offline, their sessions ended',
          );
      },
    },
  ];
  for (const job of jobs) {
    let running = false;
    timers.push(
      setInterval(async () => {
        if (running) return;
        running = true;
        try {
          if (await store.cluster.acquireLease(job.name, node.id, nowMs(), job.everyMs * leaseRuns))
            await job.run();
        } catch (error) {
          logger.warn({ err: error, job: job.name }, 'cluster job failed');
        } finally {
          running = false;
        }
      }, job.everyMs),
    );
  }
  for (const timer of timers) timer.unref();
  return () => {
    for (const timer of timers) clearInterval(timer);
  };
}
