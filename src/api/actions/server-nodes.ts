import type { Action } from '../action.js';
import { isoTime } from '../wire.js';

/**
 * DescribeServerNodes (an OpenAssist extension, not an Alibaba action): the server nodes sharing
 * this database, their connected agents and last heartbeat.
 */
export const describeServerNodes: Action = {
  name: 'DescribeServerNodes',
  regionRequired: false,
  async handle({ services }) {
    const nodes = await services.cluster.nodes();
    return {
      TotalCount: nodes.length,
      ServerNodes: {
        ServerNode: nodes.map((node) => ({
          NodeId: node.id,
          Url: node.url,
          Version: node.version,
          StartTime: isoTime(node.startedAtMs),
          LastHeartbeatTime: isoTime(node.heartbeatAtMs),
          ConnectedAgents: node.agents,
          Alive: node.alive,
        })),
      },
    };
  },
};
