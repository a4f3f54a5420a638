import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../helpers/agent-process.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { Ecs, type EcsClient, expectApiError } from '../helpers/sdk.js';

const region = 'cn-hangzhou';
let fleet: Fleet;
let client: EcsClient;
let agent: AgentProcess;

beforeAll(async () => {
  fleet = await startFleet({ OPENASSIST_DAILY_INVOCATION_QUOTA: '2' });
  ({ client, agent } = fleet);
});

afterAll(async () => {
  await fleet?.stop();
});

describe('the daily invocation quota (OPENASSIST_DAILY_INVOCATION_QUOTA)', () => {
  it('refuses invocations past the quota with Invocation.ExceedQuota, creating nothing', async () => {
    const run = (keepCommand = false) =>
      client.runCommand(
        new Ecs.RunCommandRequest({
          regionId: region,
          type: 'RunShellScript',
          commandContent: 'true',
          instanceId: [agent.instanceId],
          keepCommand,
          name: 'quota',
        }),
      );
    await run();
    await run();
    await expectApiError(run(true), 'Invocation.ExceedQuota', 403);
    const invocations = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region }),
    );
    expect(invocations.body?.totalCount).toBe(2);
    const kept = await client.describeCommands(
      new Ecs.DescribeCommandsRequest({ regionId: region, name: 'quota' }),
    );
    expect(kept.body?.totalCount).toBe(0);
  });
});
