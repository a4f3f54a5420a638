import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { type OtlpReceiver, startOtlpReceiver } from '../helpers/otlp-receiver.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { Ecs, ecsClient, finishedResult } from '../helpers/sdk.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

const available = await postgresAvailable();

describe.skipIf(!available)('a trace across two nodes (PostgreSQL)', () => {
  let nodes: TwoNodes;
  let receiver: OtlpReceiver;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    nodes = await startTwoNodes({ OPENASSIST_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '100' });
  });

  afterAll(async () => {
    await nodes?.stop();
    await receiver?.close();
  });

  it('follows an invocation made on node A to the dispatch on node B, which holds the agent, and its run', async () => {
    const client = ecsClient(nodes.nodeA.endpoint, nodes.rootKey.id, nodes.rootKey.secret);
    const { body } = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: 'cn-hangzhou',
        type: 'RunShellScript',
        commandContent: 'sleep 0.2',
        instanceId: [nodes.agent.instanceId],
      }),
    );
    const invokeId = body?.invokeId ?? '';
    expect((await finishedResult(client, invokeId)).invocationStatus).toBe('Success');

    const rpc = await waitFor('the rpc RunCommand span', () =>
      receiver.spans.find((span) => span.attributes['openassist.request_id'] === body?.requestId),
    );
    const run = await waitFor('the agent.run span', () =>
      receiver.spans.find(
        (span) => span.name === 'agent.run' && span.attributes['openassist.invoke_id'] === invokeId,
      ),
    );
    const dispatch = receiver.spans.find(
      (span) => span.name === 'dispatch' && span.attributes['openassist.invoke_id'] === invokeId,
    );
    expect(rpc.name).toBe('rpc RunCommand');
    // Made on one node, sent by the other: the wake-up between them carried the trace.
    expect(dispatch).toMatchObject({ traceId: rpc.traceId, parentSpanId: rpc.spanId });
    expect(dispatch?.resource['service.instance.id']).not.toBe(rpc.resource['service.instance.id']);
    expect(run).toMatchObject({
      traceId: rpc.traceId,
      parentSpanId: dispatch?.spanId,
      service: 'openassist-agent',
    });
  });
});
