import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
let server: ServerProcess;
let client: EcsClient;
let ids: string[];

const tag = (key: string, value = '') => new Ecs.TagResourcesRequestTag({ key, value });
const tagResources = (fields: Record<string, unknown>) =>
  client.tagResources(new Ecs.TagResourcesRequest({ regionId: region, resourceType: 'command', ...fields }));
const list = async (fields: Record<string, unknown>) =>
  (
    await client.listTagResources(
      new Ecs.ListTagResourcesRequest({ regionId: region, resourceType: 'command', ...fields }),
    )
  ).body;

beforeAll(async () => {
  server = await startServerProcess();
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  ids = [];
  for (let i = 0; i < 3; i++) {
    const { body } = await client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: `tagged-${i}`,
        type: 'RunShellScript',
        commandContent: 'ZWNobw==',
      }),
    );
    ids.push(body?.commandId ?? '');
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('TagResources, UntagResources and ListTagResources', () => {
  it('tags resources, overwrites values, and lists them by id and by tag', async () => {
    await tagResources({ resourceId: ids, tag: [tag('env', 'prod'), tag('team', 'ops')] });
    await tagResources({ resourceId: [ids[0]], tag: [tag('env', 'dev')] });
    const byId = await list({ resourceId: [ids[0]] });
    expect(byId?.tagResources?.tagResource).toEqual([
      { resourceId: ids[0], resourceType: 'command', tagKey: 'env', tagValue: 'dev' },
      { resourceId: ids[0], resourceType: 'command', tagKey: 'team', tagValue: 'ops' },
    ]);
    const byTag = await list({ tag: [new Ecs.ListTagResourcesRequestTag({ key: 'env', value: 'prod' })] });
    expect(new Set(byTag?.tagResources?.tagResource?.map((row) => row.resourceId))).toEqual(
      new Set([ids[1], ids[2]]),
    );
    const described = await client.describeCommands(
      new Ecs.DescribeCommandsRequest({
        regionId: region,
        tag: [new Ecs.DescribeCommandsRequestTag({ key: 'env', value: 'dev' })],
      }),
    );
    expect(described.body?.commands?.command?.map((c) => c.commandId)).toEqual([ids[0]]);
  });

  it('pages with NextToken', async () => {
    const many = Array.from({ length: 20 }, (_, i) => tag(`k${i}`, 'v'));
    await tagResources({ resourceId: ids, tag: many.slice(0, 18) });
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await list({ resourceId: ids, ...(nextToken && { nextToken }) });
      seen.push(...(page?.tagResources?.tagResource ?? []).map((row) => `${row.resourceId}/${row.tagKey}`));
      nextToken = page?.nextToken || undefined;
    } while (nextToken);
    expect(seen).toHaveLength(60);
    expect(new Set(seen).size).toBe(60);
  });

  it('refuses more than 20 tags on one resource, and changes nothing then', async () => {
    await expectApiError(
      tagResources({ resourceId: ids, tag: [tag('one-too-many')] }),
      'OperationDenied.QuotaExceed',
      400,
    );
    expect((await list({ resourceId: [ids[1]] }))?.tagResources?.tagResource).toHaveLength(20);
  });

  it('removes given keys or all tags', async () => {
    await client.untagResources(
      new Ecs.UntagResourcesRequest({
        regionId: region,
        resourceType: 'command',
        resourceId: [ids[1]],
        tagKey: ['env', 'k0'],
      }),
    );
    const keys = (await list({ resourceId: [ids[1]] }))?.tagResources?.tagResource?.map((row) => row.tagKey);
    expect(keys).not.toContain('env');
    expect(keys).toHaveLength(18);
    await client.untagResources(
      new Ecs.UntagResourcesRequest({
        regionId: region,
        resourceType: 'command',
        resourceId: [ids[1]],
        all: true,
      }),
    );
    expect((await list({ resourceId: [ids[1]] }))?.tagResources?.tagResource).toEqual([]);
  });

  it('refuses each malformed call with its code', async () => {
    const untag = (fields: Record<string, unknown>) =>
      client.untagResources(
        new Ecs.UntagResourcesRequest({ regionId: region, resourceType: 'command', ...fields }),
      );
    await expectApiError(
      tagResources({ resourceId: ['c-nope'], tag: [tag('a')] }),
      'InvalidResourceId.NotFound',
      404,
    );
    await expectApiError(
      tagResources({ resourceType: 'disk', resourceId: ids, tag: [tag('a')] }),
      'InvalidResourceType.NotFound',
      404,
    );
    await expectApiError(
      tagResources({ resourceType: undefined, resourceId: ids, tag: [tag('a')] }),
      'MissingParameter.ResourceType',
      404,
    );
    await expectApiError(tagResources({ tag: [tag('a')] }), 'MissingParameter.ResourceIds', 404);
    await expectApiError(tagResources({ resourceId: ids }), 'MissingParameter.Tags', 404);
    await expectApiError(
      tagResources({ resourceId: Array.from({ length: 51 }, (_, i) => `c-${i}`), tag: [tag('a')] }),
      'NumberExceed.ResourceIds',
      400,
    );
    await expectApiError(
      tagResources({ resourceId: ids, tag: [tag('acs:x')] }),
      'InvalidTagKey.Malformed',
      400,
    );
    await expectApiError(untag({ resourceId: ids, tagKey: ['a'], all: true }), 'Param.Conflict', 403);
    await expectApiError(
      client.listTagResources(new Ecs.ListTagResourcesRequest({ regionId: region, resourceType: 'command' })),
      'BothEmpty.TagsAndResources',
      403,
    );
    await expectApiError(
      client.listTagResources(
        new Ecs.ListTagResourcesRequest({
          regionId: region,
          resourceType: 'command',
          resourceId: ids,
          nextToken: 'x',
        }),
      ),
      'Invalid.NextToken',
      403,
    );
  });
});
