import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiOf } from '../../bench/stats.js';
import { waitFor } from '../helpers/deadline.js';
import { scrapeMetrics } from '../helpers/metrics-scrape.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

// Two nodes on one PostgreSQL database, the agent on node B: node A holds no channel, yet answers
// the agent's health and counts it online (both come from the store, not from the node).

const available = await postgresAvailable();

describe.skipIf(!available)("the agent's health and the fleet gauges on every node of a cluster", () => {
  let nodes: TwoNodes;

  beforeAll(async () => {
    nodes = await startTwoNodes({ OPENASSIST_HEARTBEAT_S: '1' });
  }, 60_000);

  afterAll(async () => {
    await nodes?.stop();
  });

  it('answers on the node that does not hold the agent', async () => {
    const callA = apiOf({
      ...nodes.nodeA,
      accessKeyId: nodes.rootKey.id,
      accessKeySecret: nodes.rootKey.secret,
    });
    const row = await waitFor('the health report on node A', async () => {
      const body = (await callA('DescribeCloudAssistantStatus', {
        'InstanceId.1': nodes.agent.instanceId,
      })) as {
        InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: { JournalBytes?: number }[] };
      };
      const status = body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0];
      return status?.JournalBytes !== undefined ? status : undefined;
    });
    expect(row.JournalBytes).toBeGreaterThanOrEqual(0);
    const [a, b] = await Promise.all([
      waitFor('node A to count the agent online', async () => {
        const scrape = await scrapeMetrics(nodes.nodeA.url);
        return scrape.value('openassist_agents_online') === 1 ? scrape : undefined;
      }),
      waitFor('node B to count the agent online', async () => {
        const scrape = await scrapeMetrics(nodes.nodeB.url);
        return scrape.value('openassist_agents_online') === 1 ? scrape : undefined;
      }),
    ]);
    expect(a.value('openassist_agents_connected')).toBe(0);
    expect(b.value('openassist_agents_connected')).toBe(1);
    expect(a.value('openassist_store_pool_connections', { state: 'total' })).toBeGreaterThan(0);
  }, 40_000);
});
