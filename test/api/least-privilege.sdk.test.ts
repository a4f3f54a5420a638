import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import type { Credentials } from '../../src/client/sign.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/deadline.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const ram = '2015-05-01';
const resourceManager = '2020-03-31';
const region = 'cn-hangzhou';

// Keys carry a RAM policy and may be scoped to one resource group; the SDK sees 403 Forbidden.RAM.
describe('least privilege: key policies and resource-group scope', () => {
  let server: ServerProcess;
  let root: Credentials;
  const agents: AgentProcess[] = [];
  const groups: string[] = [];
  const instances: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  const newKey = async (limits: { Policy?: string; ResourceGroupId?: string }) => {
    const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
      root,
      'CreateAccessKey',
      limits,
      ram,
    );
    return ecsClient(server.endpoint, AccessKey.AccessKeyId, AccessKey.AccessKeySecret);
  };

  const runOn = (client: EcsClient, instanceId: string) =>
    client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: 'echo scoped',
        instanceId: [instanceId],
      }),
    );

  beforeAll(async () => {
    server = await startServerProcess();
    root = { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    // Two groups, an agent in each: instances take the group of the activation they register with.
    for (const name of ['team-a', 'team-b']) {
      const { ResourceGroup } = await invoke<{ ResourceGroup: { Id: string } }>(
        root,
        'CreateResourceGroup',
        { Name: name, DisplayName: name },
        resourceManager,
      );
      groups.push(ResourceGroup.Id);
      const { body } = await sdk.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, resourceGroupId: ResourceGroup.Id }),
      );
      const agent = await startAgentProcess({
        serverUrl: server.url,
        activationId: body?.activationId ?? '',
        activationCode: body?.activationCode ?? '',
      });
      agents.push(agent);
      instances.push(agent.instanceId);
    }
  });

  afterAll(async () => {
    await Promise.all(agents.map((agent) => agent.stop()));
    await server?.stop();
    for (const cleanup of cleanups) await cleanup();
  });

  it('refuses with 403 Forbidden.RAM what the policy does not allow, and allows the rest', async () => {
    const reader = await newKey({
      Policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*'] }] }),
    });
    await reader.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId: region }));
    const refused = await expectApiError(runOn(reader, instances[0] ?? ''), 'Forbidden.RAM', 403);
    expect(String(refused.Message)).toContain('ecs:RunCommand');

    const noStop = await newKey({
      Policy: JSON.stringify({
        Version: '1',
        Statement: [
          { Effect: 'Allow', Action: '*' },
          { Effect: 'Deny', Action: 'ecs:Stop*' },
        ],
      }),
    });
    const { body } = await runOn(noStop, instances[0] ?? '');
    await expectApiError(
      noStop.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId: body?.invokeId })),
      'Forbidden.RAM',
      403,
    );
  });

  it('a group-scoped key sees and touches only its group', async () => {
    const [groupA] = groups;
    const [inA, inB] = instances;
    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const rootRun = await runOn(sdk, inB ?? '');
    const scoped = await newKey({ ResourceGroupId: groupA });

    const listed = await scoped.describeManagedInstances(
      new Ecs.DescribeManagedInstancesRequest({ regionId: region }),
    );
    expect(listed.body?.instances?.map((instance) => instance.instanceId)).toEqual([inA]);

    await expectApiError(runOn(scoped, inB ?? ''), 'Forbidden.RAM', 403);
    const own = await runOn(scoped, inA ?? '');
    const invokeId = own.body?.invokeId ?? '';
    await waitFor('the scoped run to succeed', async () => {
      const { body } = await scoped.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId }),
      );
      const status = body?.invocation?.invocationResults?.invocationResult?.[0]?.invocationStatus;
      return status === 'Success' ? status : undefined;
    });
    const invocations = await scoped.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region }),
    );
    expect(invocations.body?.invocations?.invocation?.map((invocation) => invocation.invokeId)).toEqual([
      invokeId,
    ]);

    const other = rootRun.body?.invokeId ?? '';
    await expectApiError(
      scoped.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId: other }),
      ),
      'Forbidden.RAM',
      403,
    );
    await expectApiError(
      scoped.stopInvocation(new Ecs.StopInvocationRequest({ regionId: region, invokeId: other })),
      'Forbidden.RAM',
      403,
    );
    await expectApiError(
      scoped.describeManagedInstances(
        new Ecs.DescribeManagedInstancesRequest({ regionId: region, resourceGroupId: groups[1] }),
      ),
      'Forbidden.RAM',
      403,
    );
    // Actions that span groups are refused outright.
    await expectApiError(
      scoped.describeCloudAssistantStatus(new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region })),
      'Forbidden.RAM',
      403,
    );
    await expectApiError(
      scoped.tagResources(
        new Ecs.TagResourcesRequest({
          regionId: region,
          resourceType: 'instance',
          resourceId: [inA ?? ''],
          tag: [new Ecs.TagResourcesRequestTag({ key: 'k', value: 'v' })],
        }),
      ),
      'Forbidden.RAM',
      403,
    );
  });

  it('names SendFile and DescribeSendFileResults in policies, and keeps a scoped key to its group', async () => {
    const [groupA] = groups;
    const [inA, inB] = instances;
    const scratch = await mkdtemp(join(tmpdir(), 'openassist-least-privilege-'));
    cleanups.push(() => rm(scratch, { recursive: true, force: true }));
    const sendTo = (client: EcsClient, instanceId: string, name: string) =>
      client.sendFile(
        new Ecs.SendFileRequest({
          regionId: region,
          name,
          content: 'scoped',
          targetDir: scratch,
          overwrite: true,
          instanceId: [instanceId],
        }),
      );
    const describeSent = (client: EcsClient, invokeId?: string) =>
      client.describeSendFileResults(new Ecs.DescribeSendFileResultsRequest({ regionId: region, invokeId }));
    const allowing = (action: string) =>
      newKey({
        Policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: [action] }] }),
      });

    const reader = await allowing('ecs:DescribeSendFileResults');
    const refused = await expectApiError(sendTo(reader, inA ?? '', 'r.txt'), 'Forbidden.RAM', 403);
    expect(String(refused.Message)).toContain('ecs:SendFile');
    await describeSent(reader);
    const sender = await allowing('ecs:SendFile');
    const sent = await sendTo(sender, inA ?? '', 's.txt');
    expect(sent.body?.invokeId).toMatch(/^f-/);
    await expectApiError(describeSent(sender), 'Forbidden.RAM', 403);

    const sdk = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
    const rootSent = (await sendTo(sdk, inB ?? '', 'b.txt')).body?.invokeId ?? '';
    const scoped = await newKey({ ResourceGroupId: groupA });
    await expectApiError(sendTo(scoped, inB ?? '', 'x.txt'), 'Forbidden.RAM', 403);
    const own = (await sendTo(scoped, inA ?? '', 'a.txt')).body?.invokeId ?? '';
    const seen = await describeSent(scoped);
    expect(seen.body?.invocations?.invocation?.map((invocation) => invocation.invokeId)).toEqual([own]);
    await expectApiError(describeSent(scoped, rootSent), 'Forbidden.RAM', 403);
  });

  it('checks policies and groups when the key is made, and keeps key management to the root key', async () => {
    await expect(invoke(root, 'CreateAccessKey', { Policy: '{"Statement":[]}' }, ram)).rejects.toMatchObject({
      code: 'MalformedPolicyDocument',
      status: 400,
    });
    await expect(invoke(root, 'CreateAccessKey', { ResourceGroupId: 'rg-none' }, ram)).rejects.toMatchObject({
      code: 'InvalidResourceGroup.NotFound',
    });
    const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
      root,
      'CreateAccessKey',
      {},
      ram,
    );
    const other = {
      endpoint: server.url,
      accessKeyId: AccessKey.AccessKeyId,
      accessKeySecret: AccessKey.AccessKeySecret,
    };
    await expect(invoke(other, 'CreateAccessKey', {}, ram)).rejects.toMatchObject({
      code: 'Forbidden.RAM',
      status: 403,
    });
    const { AccessKeys } = await invoke<{ AccessKeys: { AccessKey: Record<string, string>[] } }>(
      root,
      'ListAccessKeys',
      {},
      ram,
    );
    expect(JSON.stringify(AccessKeys)).not.toContain(AccessKey.AccessKeySecret);
    expect(AccessKeys.AccessKey.find((key) => key.ResourceGroupId === groups[0])).toBeDefined();
  });
});
