import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResourceGroup, type RawOptions, v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
let server: ServerProcess;
let base: RawOptions;
let client: EcsClient;

beforeAll(async () => {
  server = await startServerProcess();
  base = { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret };
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
});

afterAll(async () => {
  await server?.stop();
});

/** ResourceManager calls: the same signed endpoint, routed by Version 2020-03-31. */
const rm = (action: string, params: Record<string, string>) =>
  v3Raw({ ...base, action, params, extraHeaders: { 'x-acs-version': '2020-03-31' } });

describe('resource groups (ResourceManager 2020-03-31, routed by Version)', () => {
  it('creates, lists and deletes groups with ResourceManager shapes', async () => {
    const created = await rm('CreateResourceGroup', { Name: 'web-tier', DisplayName: 'Web tier' });
    const group = created.json.ResourceGroup as Record<string, unknown>;
    expect(group).toMatchObject({ Name: 'web-tier', DisplayName: 'Web tier', Status: 'OK' });
    expect(group.Id).toMatch(/^rg-[a-z0-9]{15}$/);
    expect(group.RegionStatuses).toEqual({ RegionStatus: [{ RegionId: region, Status: 'OK' }] });

    const listed = await rm('ListResourceGroups', { Name: 'web' });
    expect(listed.json).toMatchObject({
      TotalCount: 1,
      ResourceGroups: { ResourceGroup: [{ Id: group.Id }] },
    });

    const deleted = await rm('DeleteResourceGroup', { ResourceGroupId: String(group.Id) });
    expect((deleted.json.ResourceGroup as Record<string, unknown>).Status).toBe('PendingDelete');
    expect((await rm('DeleteResourceGroup', { ResourceGroupId: String(group.Id) })).json.Code).toBe(
      'EntityNotExists.ResourceGroup',
    );
  });

  it('refuses bad names, duplicates and a group still in use', async () => {
    const codeOf = async (params: Record<string, string>) => {
      const response = await rm('CreateResourceGroup', params);
      return [response.status, response.json.Code];
    };
    expect(await codeOf({ Name: 'ab', DisplayName: 'x' })).toEqual([400, 'InvalidParameter.Name.Length']);
    expect(await codeOf({ Name: '1abc', DisplayName: 'x' })).toEqual([
      400,
      'InvalidParameter.Name.InvalidChars',
    ]);
    expect(await codeOf({ Name: 'abc' })).toEqual([400, 'MissingParameter.DisplayName']);
    expect(await codeOf({ Name: 'abc', DisplayName: 'x'.repeat(51) })).toEqual([
      400,
      'InvalidParameter.DisplayName.Length',
    ]);
    await createResourceGroup(base, 'twice');
    expect(await codeOf({ Name: 'twice', DisplayName: 'x' })).toEqual([
      409,
      'EntityAlreadyExists.ResourceGroup',
    ]);

    const busy = await createResourceGroup(base, 'busy');
    const { body } = await client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: 'in-group',
        type: 'RunShellScript',
        commandContent: 'ZWNobw==',
        resourceGroupId: busy,
      }),
    );
    const refused = await rm('DeleteResourceGroup', { ResourceGroupId: busy });
    expect([refused.status, refused.json.Code]).toEqual([409, 'DeleteConflict.ResourceGroup.Resource']);

    // JoinResourceGroup moves it out; then the group can go.
    const other = await createResourceGroup(base, 'other');
    await client.joinResourceGroup(
      new Ecs.JoinResourceGroupRequest({
        regionId: region,
        resourceType: 'command',
        resourceId: body?.commandId,
        resourceGroupId: other,
      }),
    );
    const moved = await client.describeCommands(
      new Ecs.DescribeCommandsRequest({ regionId: region, resourceGroupId: other }),
    );
    expect(moved.body?.commands?.command?.map((c) => c.commandId)).toEqual([body?.commandId]);
    expect((await rm('DeleteResourceGroup', { ResourceGroupId: busy })).status).toBe(200);
  });

  it('refuses JoinResourceGroup for unknown groups, resources and types', async () => {
    const group = await createResourceGroup(base, 'join-target');
    const join = (fields: Record<string, unknown>) =>
      client.joinResourceGroup(
        new Ecs.JoinResourceGroupRequest({
          regionId: region,
          resourceType: 'command',
          resourceId: 'c-none',
          resourceGroupId: group,
          ...fields,
        }),
      );
    await expectApiError(join({}), 'InvalidResourceId.NotFound', 404);
    await expectApiError(join({ resourceGroupId: 'rg-none' }), 'InvalidResourceGroup.NotFound', 404);
    await expectApiError(join({ resourceType: 'disk' }), 'InvalidResourceType.NotFound', 404);
  });

  it('makes ECS actions check that a ResourceGroupId exists', async () => {
    await expectApiError(
      client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, resourceGroupId: 'rg-none' }),
      ),
      'InvalidResourceGroup.NotFound',
      404,
    );
  });
});
