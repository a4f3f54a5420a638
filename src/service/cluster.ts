import type { ServerNode, Store } from '../store/store.js';

/** A node silent this long is taken for dead: its agents are marked offline and it is forgotten. */
export const silentNodeMs = 30_000;
// Nodes heartbeat every 5 s; one that missed three beats shows as not alive.
const aliveWithinMs = 15_000;

export interface NodeView extends ServerNode {
  readonly alive: boolean;
}

/** The server nodes serving this fleet (DescribeServerNodes). */
export class ClusterService {
  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
  ) {}

  async nodes(): Promise<NodeView[]> {
    const now = this.nowMs();
    return (await this.store.cluster.nodes()).map((node) => ({
      ...node,
      alive: now - node.heartbeatAtMs <= aliveWithinMs,
    }));
  }
}
