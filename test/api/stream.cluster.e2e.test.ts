import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followInvocation, type InvocationEvent } from '../../src/client/stream.js';
import type { AgentProcess } from '../helpers/agent-process.js';
import { postgresAvailable } from '../helpers/postgres.js';
import { Ecs, ecsClient } from '../helpers/sdk.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { startTwoNodes, type TwoNodes } from '../helpers/two-nodes.js';

const region = 'cn-hangzhou';
const available = await postgresAvailable();

/** Node A serves the stream, node B holds the agent: A sees B's changes by re-reading. */
describe.skipIf(!available)('StreamInvocationOutput across cluster nodes (PostgreSQL)', () => {
  let cluster: TwoNodes;
  let nodeA: ServerProcess;
  let key: TwoNodes['rootKey'];
  let agent: AgentProcess;

  beforeAll(async () => {
    cluster = await startTwoNodes();
    ({ nodeA, agent, rootKey: key } = cluster);
  }, 90_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  it('follows a run applied on another node, within about the 1 s re-read', async () => {
    const { body } = await ecsClient(nodeA.endpoint, key.id, key.secret).runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'for i in 1 2 3 4 5; do echo "tick $i $(date +%s%3N)"; sleep 0.3; done',
        instanceId: [agent.instanceId],
      }),
    );
    const credentials = { endpoint: nodeA.url, accessKeyId: key.id, accessKeySecret: key.secret };
    const events: { event: InvocationEvent; atMs: number }[] = [];
    const signal = AbortSignal.timeout(30_000);
    for await (const event of followInvocation(credentials, { invokeId: body?.invokeId ?? '', signal })) {
      events.push({ event, atMs: Date.now() });
    }
    expect(signal.aborted).toBe(false);
    expect(events.at(-1)?.event).toMatchObject({ type: 'end', data: { InvocationStatus: 'Success' } });
    const printed = events.flatMap(({ event, atMs }) =>
      event.type === 'output'
        ? Buffer.from(event.data.Output, 'base64')
            .toString('utf8')
            .split('\n')
            .filter(Boolean)
            .map((line) => ({
              line: line.split(' ').slice(0, 2).join(' '),
              delay: atMs - Number(line.split(' ')[2]),
            }))
        : [],
    );
    expect(printed.map(({ line }) => line)).toEqual(['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5']);
    const delays = printed.map(({ delay }) => delay).sort((a, b) => a - b);
    console.log(`cross-node output latency: min ${delays[0]} ms, max ${delays.at(-1)} ms`);
    // The first output arrives while the script still runs: followed live, not at the end.
    const firstOutput = events.findIndex(({ event }) => event.type === 'output');
    const success = events.findIndex(
      ({ event }) => event.type === 'status' && event.data.InvocationStatus === 'Success',
    );
    expect(firstOutput).toBeLessThan(success);
    expect(delays.at(-1)).toBeLessThan(5_000);
  });
});
