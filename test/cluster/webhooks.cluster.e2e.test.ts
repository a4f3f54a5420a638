import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { v3Raw } from '../helpers/raw-client.js';
import { Ecs, ecsClient, finishedResult } from '../helpers/sdk.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';
import { type Receiver, startReceiver, webhookSecret } from '../helpers/webhook-receiver.js';

const available = await postgresAvailable();

describe.skipIf(!available)('webhooks across two nodes (PostgreSQL)', () => {
  let nodes: TwoNodes;
  let receiver: Receiver;

  beforeAll(async () => {
    nodes = await startTwoNodes({ OPENASSIST_WEBHOOK_FIRST_RETRY_MS: '200' });
    // Slow answers: both nodes' senders poll four times a second, so each event is offered to two
    // claimers while the first POST is still open.
    receiver = await startReceiver(() => 200, 300);
  });

  afterAll(async () => {
    await nodes?.stop();
    await receiver?.close();
  });

  it('sends each event once though both nodes send, events written by the node that holds the agent', async () => {
    const created = await v3Raw({
      url: nodes.nodeA.url,
      accessKeyId: nodes.rootKey.id,
      accessKeySecret: nodes.rootKey.secret,
      action: 'CreateWebhook',
      params: { Url: receiver.url, Secret: webhookSecret },
    });
    expect(created.status, created.text).toBe(200);
    // Made on node A, answered once node B (the agent's) writes events too: the first run counts.
    const client = ecsClient(nodes.nodeA.endpoint, nodes.rootKey.id, nodes.rootKey.secret);
    const run = async () => {
      const { body } = await client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: 'cn-hangzhou',
          type: 'RunShellScript',
          commandContent: 'echo cluster',
          instanceId: [nodes.agent.instanceId],
        }),
      );
      const invokeId = body?.invokeId ?? '';
      await finishedResult(client, invokeId);
      return invokeId;
    };
    const invokeIds: string[] = [];
    for (let i = 0; i < 8; i++) invokeIds.push(await run());
    await waitFor(
      'a run.finished for each run',
      () =>
        invokeIds.every((id) =>
          receiver.accepted().some((d) => d.body.InvokeId === id && d.body.Type === 'run.finished'),
        )
          ? true
          : undefined,
      30_000,
    );
    const ids = receiver.deliveries.map((d) => d.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receiver.deliveries.every((d) => d.signed)).toBe(true);
  });
});
