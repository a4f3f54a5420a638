import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
let server: ServerProcess;
let client: EcsClient;
let agent: AgentProcess;

beforeAll(async () => {
  server = await startServerProcess({ env: { OPENASSIST_DAILY_INVOCATION_QUOTA: '2' } });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: body?.activationId ?? '',
    activationCode: body?.activationCode ?? '',
  });
});

afterAll(async () => {
  await agent?.stop();
  await server?.stop();
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
