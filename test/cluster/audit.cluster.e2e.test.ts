import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

const available = await postgresAvailable();

interface TrailEvent {
  requestId: string;
  eventName: string;
  resourceName: string;
  requestParameters: Record<string, string>;
}

describe.skipIf(!available)('the audit trail of two nodes (PostgreSQL)', () => {
  let nodes: TwoNodes;
  let onA: Credentials;
  let onB: Credentials;

  beforeAll(async () => {
    nodes = await startTwoNodes();
    const key = { accessKeyId: nodes.rootKey.id, accessKeySecret: nodes.rootKey.secret };
    onA = { endpoint: nodes.nodeA.url, ...key };
    onB = { endpoint: nodes.nodeB.url, ...key };
  });

  afterAll(async () => {
    await nodes?.stop();
  });

  it('records each call once on the node that served it, readable from either, secrets digested alike', async () => {
    const script = Buffer.from('echo same script on both nodes').toString('base64');
    const create = (as: Credentials, name: string) =>
      invoke<{ RequestId: string; CommandId: string }>(as, 'CreateCommand', {
        RegionId: 'cn-hangzhou',
        Name: name,
        Type: 'RunShellScript',
        CommandContent: script,
      });
    const fromA = await create(onA, 'from-a');
    const fromB = await create(onB, 'from-b');
    for (const reader of [onA, onB]) {
      const { Events } = await invoke<{ Events: TrailEvent[] }>(
        reader,
        'LookupEvents',
        { 'LookupAttribute.1.Key': 'EventName', 'LookupAttribute.1.Value': 'CreateCommand' },
        '2020-07-06',
      );
      expect(Events.map((event) => event.requestId).sort()).toEqual(
        [fromA.RequestId, fromB.RequestId].sort(),
      );
      const [first, second] = Events;
      expect(first?.requestParameters.CommandContent).toMatch(/^hmac-sha256:/);
      expect(first?.requestParameters.CommandContent).toBe(second?.requestParameters.CommandContent);
      expect(JSON.stringify(Events)).not.toContain(script);
    }
    // The agent registered through node B: its one registration record is seen from node A.
    const { Events } = await invoke<{ Events: TrailEvent[] }>(
      onA,
      'LookupEvents',
      {
        'LookupAttribute.1.Key': 'ResourceName',
        'LookupAttribute.1.Value': nodes.agent.instanceId,
        'LookupAttribute.2.Key': 'EventName',
        'LookupAttribute.2.Value': 'RegisterInstance',
      },
      '2020-07-06',
    );
    expect(Events).toHaveLength(1);
  });
});
