import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open-store.js';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { createResourceGroup } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const b64 = (text: string) => Buffer.from(text).toString('base64');
const region = 'cn-hangzhou';

const create = (client: EcsClient, fields: Record<string, unknown>) =>
  client.createCommand(
    new Ecs.CreateCommandRequest({
      regionId: region,
      name: 'hello',
      type: 'RunShellScript',
      commandContent: b64('echo hello'),
      ...fields,
    }),
  );

const describeCommands = (client: EcsClient, fields: Record<string, unknown> = {}) =>
  client.describeCommands(new Ecs.DescribeCommandsRequest({ regionId: region, ...fields }));

const tag = (key?: string, value?: string) => new Ecs.CreateCommandRequestTag({ key, value });

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`saved commands through the official SDK on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let v3: EcsClient;
    let v1: EcsClient;
    let groupOne: string;
    let groupFilter: string;

    beforeAll(async () => {
      backend = factory.make();
      server = await startServerProcess({
        databaseUrl: backend.databaseUrl,
        env: { OPENASSIST_REGIONS: 'cn-hangzhou,cn-shanghai,xx-test-1' },
      });
      v3 = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      v1 = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret, 'v1');
      const raw = {
        url: server.url,
        accessKeyId: server.accessKeyId,
        accessKeySecret: server.accessKeySecret,
      };
      groupOne = await createResourceGroup(raw, 'group-one');
      groupFilter = await createResourceGroup(raw, 'group-filter');
    });

    afterAll(async () => {
      expect(await server?.stop()).toBe(0);
      await backend?.dispose();
    });

    describe('CreateCommand and DescribeCommands', () => {
      it('stores every field and returns it in Alibaba shapes', async () => {
        const script = 'echo {{name}} {{ name }} {{ACS::InstanceId}} {{oos:secret}} {{dir_1-x}}';
        const created = await create(v3, {
          name: 'greet',
          description: 'says hello',
          commandContent: b64(script),
          enableParameter: true,
          workingDir: '/tmp',
          timeout: 120,
          launcher: 'bash {{ACS::ScriptFileName}}',
          resourceGroupId: groupOne,
          clientToken: 'token-1',
          tag: [tag('env', 'prod'), tag('team', '')],
        });
        expect(created.statusCode).toBe(200);
        expect(created.body?.commandId).toMatch(/^c-[0-9a-f]{32}$/);
        expect(created.body?.requestId).toMatch(/^[0-9A-F-]{36}$/);

        const found = await describeCommands(v3, { commandId: created.body?.commandId });
        expect(found.body?.totalCount).toBe(1);
        const command = found.body?.commands?.command?.[0];
        expect(command).toMatchObject({
          commandId: created.body?.commandId,
          name: 'greet',
          description: 'says hello',
          type: 'RunShellScript',
          commandContent: b64(script),
          enableParameter: true,
          workingDir: '/tmp',
          timeout: 120,
          launcher: 'bash {{ACS::ScriptFileName}}',
          resourceGroupId: groupOne,
          version: 1,
          latest: true,
          invokeTimes: 0,
          parameterNames: { parameterName: ['name', 'dir_1-x'] },
          tags: {
            tag: [
              { tagKey: 'env', tagValue: 'prod' },
              { tagKey: 'team', tagValue: '' },
            ],
          },
        });
        expect(command?.creationTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

        const plain = await describeCommands(v3, {
          commandId: created.body?.commandId,
          contentEncoding: 'PlainText',
        });
        expect(plain.body?.commands?.command?.[0]?.commandContent).toBe(script);
      });

      it('takes PlainText content, defaults Timeout to 60 and defines no parameters unless enabled', async () => {
        const created = await create(v3, { commandContent: 'echo {{x}}', contentEncoding: 'PlainText' });
        const found = await describeCommands(v3, { commandId: created.body?.commandId });
        const command = found.body?.commands?.command?.[0];
        expect(command).toMatchObject({
          commandContent: b64('echo {{x}}'),
          timeout: 60,
          enableParameter: false,
        });
        expect(command?.parameterNames?.parameterName).toEqual([]);
      });

      it('works with V1 (HMAC-SHA1) signatures too', async () => {
        const created = await create(v1, { name: 'v1-made', description: 'a+b c/d' });
        const found = await describeCommands(v1, { commandId: created.body?.commandId });
        expect(found.body?.commands?.command?.[0]).toMatchObject({ name: 'v1-made', description: 'a+b c/d' });
      });

      it('filters by name, type, description, tags and resource group; Provider finds no private command', async () => {
        const tagged = await create(v3, {
          name: 'filter-me',
          type: 'RunPowerShellScript',
          description: 'Rotate LOGS weekly',
          resourceGroupId: groupFilter,
          tag: [tag('f1', 'a'), tag('f2', 'b')],
        });
        await create(v3, { name: 'filter-me', tag: [tag('f1', 'a')] });
        const ids = async (fields: Record<string, unknown>) =>
          (await describeCommands(v3, { pageSize: 50, ...fields })).body?.commands?.command?.map(
            (c) => c.commandId,
          );
        const filterTag = (key: string, value?: string) => new Ecs.DescribeCommandsRequestTag({ key, value });

        expect(await ids({ name: 'filter-me' })).toHaveLength(2);
        expect(await ids({ name: 'filter-me', type: 'RunPowerShellScript' })).toEqual([
          tagged.body?.commandId,
        ]);
        expect(await ids({ description: '*logs*' })).toEqual([tagged.body?.commandId]);
        expect(await ids({ description: 'rotate logs weekly' })).toEqual([tagged.body?.commandId]);
        expect(await ids({ description: 'logs' })).toEqual([]);
        expect(await ids({ description: '*%*' })).toEqual([]);
        expect(await ids({ resourceGroupId: groupFilter })).toEqual([tagged.body?.commandId]);
        expect(await ids({ tag: [filterTag('f1', 'a'), filterTag('f2', 'b')] })).toEqual([
          tagged.body?.commandId,
        ]);
        expect(await ids({ tag: [filterTag('f1')] })).toHaveLength(2);
        expect(await ids({ tag: [filterTag('f1', 'z')] })).toEqual([]);
        expect(await ids({ name: 'filter-me', provider: 'AlibabaCloud' })).toEqual([]);
      });

      it('reads * in Name and Description as Alibaba documents: starts with, ends with, contains', async () => {
        const made = async (name: string, description: string) =>
          (await create(v3, { regionId: 'xx-test-1', name, description })).body?.commandId;
        const start = await made('backup-db', 'Nightly BACKUP of the database');
        const end = await made('db-backup', 'copies files');
        const middle = await made('my-backup-job', 'backup, then prune');
        const names = async (fields: Record<string, unknown>) =>
          (
            await describeCommands(v3, { regionId: 'xx-test-1', pageSize: 50, ...fields })
          ).body?.commands?.command
            ?.map((c) => c.commandId)
            .sort();
        const sorted = (...ids: (string | undefined)[]) => [...ids].sort();

        expect(await names({ name: 'backup*' })).toEqual(sorted(start));
        expect(await names({ name: '*backup' })).toEqual(sorted(end));
        expect(await names({ name: '*backup*' })).toEqual(sorted(start, end, middle));
        expect(await names({ name: 'BACKUP*' })).toEqual(sorted(start));
        expect(await names({ name: 'my*job' })).toEqual(sorted(middle));
        // Without a wildcard the name must be equal, case and all.
        expect(await names({ name: 'backup' })).toEqual([]);
        expect(await names({ name: 'Backup-DB' })).toEqual([]);
        expect(await names({ name: 'backup-db' })).toEqual(sorted(start));
        expect(await names({ description: 'nightly*' })).toEqual(sorted(start));
        expect(await names({ description: '*backup*' })).toEqual(sorted(start, middle));
        expect(await names({ description: 'COPIES FILES' })).toEqual(sorted(end));
      });

      it('leaves private commands to Latest alone: true and false both list them', async () => {
        const created = await create(v3, { name: 'latest-probe' });
        for (const latest of [true, false]) {
          const found = await describeCommands(v3, { name: 'latest-probe', latest });
          expect(found.body?.commands?.command?.map((c) => [c.commandId, c.version, c.latest])).toEqual([
            [created.body?.commandId, 1, true],
          ]);
        }
      });

      it('keeps regions apart', async () => {
        const created = await create(v3, { regionId: 'cn-shanghai', name: 'in-shanghai' });
        expect((await describeCommands(v3, { commandId: created.body?.commandId })).body?.totalCount).toBe(0);
        const there = await describeCommands(v3, {
          regionId: 'cn-shanghai',
          commandId: created.body?.commandId,
        });
        expect(there.body?.totalCount).toBe(1);
      });
    });

    describe('paging', () => {
      const name = 'paged';
      const created: string[] = [];

      beforeAll(async () => {
        for (let i = 0; i < 7; i++) created.unshift((await create(v3, { name })).body?.commandId ?? '');
      });

      it('pages with PageNumber/PageSize, newest first', async () => {
        const first = await describeCommands(v3, { name, pageSize: 3 });
        expect(first.body).toMatchObject({ totalCount: 7, pageNumber: 1, pageSize: 3 });
        expect(first.body?.commands?.command?.map((c) => c.commandId)).toEqual(created.slice(0, 3));
        const third = await describeCommands(v3, { name, pageSize: 3, pageNumber: 3 });
        expect(third.body?.commands?.command?.map((c) => c.commandId)).toEqual(created.slice(6));
      });

      it('pages with MaxResults/NextToken until the end, seeing each command once', async () => {
        const seen: string[] = [];
        let nextToken: string | undefined;
        let pages = 0;
        do {
          const page = await describeCommands(v3, { name, maxResults: 3, ...(nextToken && { nextToken }) });
          seen.push(...(page.body?.commands?.command?.map((c) => c.commandId ?? '') ?? []));
          nextToken = page.body?.nextToken || undefined;
          pages++;
        } while (nextToken);
        expect(seen).toEqual(created);
        expect(pages).toBe(3);
      });

      it('refuses mixed styles and out-of-range values', async () => {
        await expectApiError(describeCommands(v3, { pageSize: 5, maxResults: 5 }), 'InvalidParameter', 400);
        await expectApiError(describeCommands(v3, { pageSize: 51 }), 'InvalidParam.PageSize', 400);
        await expectApiError(describeCommands(v3, { pageNumber: 0 }), 'InvalidParam.PageNumber', 400);
        await expectApiError(describeCommands(v3, { maxResults: 51 }), 'InvalidParameter.MaxResults', 400);
        await expectApiError(
          describeCommands(v3, { nextToken: 'not-a-token' }),
          'InvalidParameter.NextToken',
          400,
        );
      });
    });

    describe('ModifyCommand and DeleteCommand', () => {
      it('changes fields, bumps the version when the script changes, and deletes', async () => {
        const id = (await create(v3, { enableParameter: true })).body?.commandId ?? '';
        const modify = (fields: Record<string, unknown>) =>
          v3.modifyCommand(new Ecs.ModifyCommandRequest({ regionId: region, commandId: id, ...fields }));
        await modify({
          name: 'renamed',
          description: 'new words',
          timeout: 300,
          workingDir: '/srv',
          launcher: 'sh',
          commandContent: b64('echo {{who}}'),
        });
        await modify({ commandContent: b64('echo {{who}}') }); // the same script again: no new version
        const command = (await describeCommands(v3, { commandId: id })).body?.commands?.command?.[0];
        expect(command).toMatchObject({
          name: 'renamed',
          description: 'new words',
          timeout: 300,
          workingDir: '/srv',
          launcher: 'sh',
          commandContent: b64('echo {{who}}'),
          version: 2,
          parameterNames: { parameterName: ['who'] },
        });

        await v3.deleteCommand(new Ecs.DeleteCommandRequest({ regionId: region, commandId: id }));
        expect((await describeCommands(v3, { commandId: id })).body?.totalCount).toBe(0);
        await expectApiError(
          v3.deleteCommand(new Ecs.DeleteCommandRequest({ regionId: region, commandId: id })),
          'InvalidCmdId.NotFound',
          404,
        );
      });

      it('refuses bad changes and unknown ids', async () => {
        const id = (await create(v3, {})).body?.commandId ?? '';
        const modify = (fields: Record<string, unknown>) =>
          v3.modifyCommand(new Ecs.ModifyCommandRequest({ regionId: region, commandId: id, ...fields }));
        await expectApiError(modify({ name: 'n'.repeat(129) }), 'CmdName.ExceedLimit', 403);
        await expectApiError(modify({ description: 'd'.repeat(513) }), 'CmdDesc.ExceedLimit', 403);
        await expectApiError(modify({ workingDir: '/'.repeat(201) }), 'InvalidParameter.WorkingDir', 400);
        await expectApiError(
          modify({ launcher: 'l'.repeat(1025) }),
          'InvalidLauncher.LengthLimitExceeded',
          403,
        );
        await expectApiError(modify({ timeout: 9 }), 'InvalidParameter.Timeout', 400);
        await expectApiError(modify({ timeout: 86_401 }), 'InvalidTimeout.ExceedLimit', 403);
        await expectApiError(modify({ commandContent: '@@@' }), 'CmdContent.DecodeError', 400);
        await expectApiError(
          modify({ commandContent: b64('x'.repeat(18_500)) }),
          'CmdContent.ExceedLimit',
          403,
        );
        await expectApiError(modify({ commandId: `c-${'0'.repeat(32)}` }), 'InvalidCmdId.NotFound', 404);
        await expectApiError(modify({ regionId: 'cn-shanghai' }), 'InvalidCmdId.NotFound', 404);
        await expectApiError(
          v3.modifyCommand(new Ecs.ModifyCommandRequest({ regionId: region })),
          'MissingParameter',
          400,
        );
        await expectApiError(
          v3.deleteCommand(new Ecs.DeleteCommandRequest({ regionId: region })),
          'MissingParameter',
          400,
        );
      });
    });

    describe('CreateCommand error rows', () => {
      const tags = (n: number) => Array.from({ length: n }, (_, i) => tag(`k${i}`, 'v'));
      const names = (n: number) => Array.from({ length: n }, (_, i) => `{{p${i}}}`).join(' ');
      const withParameters = (script: string) => ({ enableParameter: true, commandContent: b64(script) });
      const cases: [string, Record<string, unknown>, string, number][] = [
        ['no Name', { name: undefined }, 'MissingParameter', 400],
        ['no Type', { type: undefined }, 'MissingParameter', 400],
        ['no CommandContent', { commandContent: undefined }, 'MissingParameter', 400],
        ['an unknown Type', { type: 'RunPerlScript' }, 'InvalidCmdType.NotFound', 404],
        ['content that is not Base64', { commandContent: 'echo hi!' }, 'CmdContent.DecodeError', 400],
        ['content over 24 KB', { commandContent: b64('x'.repeat(18_500)) }, 'CmdContent.ExceedLimit', 403],
        ['a 129-character Name', { name: 'n'.repeat(129) }, 'CmdName.ExceedLimit', 403],
        ['a 513-character Description', { description: 'd'.repeat(513) }, 'CmdDesc.ExceedLimit', 403],
        ['a 201-character WorkingDir', { workingDir: 'w'.repeat(201) }, 'InvalidParameter.WorkingDir', 400],
        ['a Launcher over 1 KB', { launcher: 'l'.repeat(1025) }, 'InvalidLauncher.LengthLimitExceeded', 403],
        ['Timeout 9', { timeout: 9 }, 'InvalidParameter.Timeout', 400],
        ['Timeout over a day', { timeout: 86_401 }, 'InvalidTimeout.ExceedLimit', 403],
        ['a bad parameter name', withParameters('{{a.b}}'), 'CmdParam.InvalidParamName', 400],
        ['an empty parameter name', withParameters('{{ }}'), 'CmdParam.EmptyKey', 400],
        [
          'a 65-character parameter name',
          withParameters(`{{${'p'.repeat(65)}}}`),
          'CmdParamName.ExceedLimit',
          403,
        ],
        ['21 parameters', withParameters(names(21)), 'CmdParamCount.ExceedLimit', 403],
        ['21 tags', { tag: tags(21) }, 'NumberExceed.Tags', 400],
        ['a duplicate tag key', { tag: [tag('a'), tag('a')] }, 'Duplicate.TagKey', 400],
        ['a tag key starting with aliyun', { tag: [tag('aliyunX')] }, 'InvalidTagKey.Malformed', 400],
        ['a tag key starting with acs:', { tag: [tag('acs:x')] }, 'InvalidTagKey.Malformed', 400],
        ['a tag key with a URL', { tag: [tag('see https://x')] }, 'InvalidTagKey.Malformed', 400],
        ['a 65-character tag key', { tag: [tag('k'.repeat(65))] }, 'InvalidTagKey.Malformed', 400],
        [
          'a tag value over 128 characters',
          { tag: [tag('k', 'v'.repeat(129))] },
          'InvalidTagValue.Malformed',
          400,
        ],
        ['a tag value with a URL', { tag: [tag('k', 'http://x')] }, 'InvalidTagValue.Malformed', 400],
        ['a tag value without key', { tag: [tag(undefined, 'v')] }, 'MissingParameter.TagKey', 400],
        ['a 65-character ClientToken', { clientToken: 't'.repeat(65) }, 'InvalidClientToken.Malformed', 400],
        ['a non-ASCII ClientToken', { clientToken: 'tök' }, 'InvalidClientToken.Malformed', 400],
        ['an unknown ContentEncoding', { contentEncoding: 'Hex' }, 'InvalidParameter.ContentEncoding', 400],
        ['no RegionId', { regionId: undefined }, 'MissingParameter', 400],
        ['a region not served', { regionId: 'eu-west-9' }, 'RegionId.ApiNotSupported', 400],
        [
          'an unknown resource group',
          { resourceGroupId: 'rg-nowhere' },
          'InvalidResourceGroup.NotFound',
          404,
        ],
      ];
      it.each(cases)('refuses %s', async (_what, fields, code, status) => {
        const body = await expectApiError(create(v3, fields), code, status);
        expect(body).toMatchObject({ Code: code, RequestId: expect.any(String), HostId: expect.any(String) });
        expect(String(body.Message)).not.toBe('');
      });

      it('names the missing parameter', async () => {
        const body = await expectApiError(create(v3, { regionId: undefined }), 'MissingParameter', 400);
        expect(body.Message).toContain('"RegionId"');
      });

      it('creates nothing when it refuses', async () => {
        await expectApiError(
          create(v3, { name: 'refused-one', timeout: 1 }),
          'InvalidParameter.Timeout',
          400,
        );
        expect((await describeCommands(v3, { name: 'refused-one' })).body?.totalCount).toBe(0);
      });
    });

    describe('DescribeCommands error rows', () => {
      it.each([
        ['an unknown Type', { type: 'Nope' }, 'InvalidCommandType.NotFound', 404],
        ['a 129-character Name', { name: 'n'.repeat(129) }, 'InvalidName.LengthLimitExceeded', 403],
        [
          'a 513-character Description',
          { description: 'd'.repeat(513) },
          'InvalidDescription.LengthLimitExceeded',
          403,
        ],
        ['an unknown ContentEncoding', { contentEncoding: 'Hex' }, 'InvalidParameter.ContentEncoding', 400],
        ['a Latest that is not a boolean', { latest: 'newest' }, 'InvalidParameter', 400],
        [
          'a bad tag filter',
          { tag: [new Ecs.DescribeCommandsRequestTag({ key: 'acs:x' })] },
          'InvalidTagKey.Malformed',
          400,
        ],
        ['a region not served', { regionId: 'eu-west-9' }, 'RegionId.ApiNotSupported', 400],
      ] as const)('refuses %s', async (_what, fields, code, status) => {
        await expectApiError(describeCommands(v3, fields), code, status);
      });
    });

    describe('DescribeRegions', () => {
      it('lists the configured regions with their names and this endpoint', async () => {
        const result = await v3.describeRegions(new Ecs.DescribeRegionsRequest({ acceptLanguage: 'en-US' }));
        const endpoint = server.endpoint;
        expect(result.body?.regions?.region).toEqual([
          {
            regionId: 'cn-hangzhou',
            localName: 'China (Hangzhou)',
            regionEndpoint: endpoint,
            status: 'available',
          },
          {
            regionId: 'cn-shanghai',
            localName: 'China (Shanghai)',
            regionEndpoint: endpoint,
            status: 'available',
          },
          { regionId: 'xx-test-1', localName: 'xx-test-1', regionEndpoint: endpoint, status: 'available' },
        ]);
        const chinese = await v1.describeRegions(new Ecs.DescribeRegionsRequest({}));
        expect(chinese.body?.regions?.region?.[0]?.localName).toBe('华东1（杭州）');
      });

      it('refuses unknown languages, charge types and resource types', async () => {
        const call = (fields: Record<string, string>) =>
          v3.describeRegions(new Ecs.DescribeRegionsRequest(fields));
        await expectApiError(call({ acceptLanguage: 'xx' }), 'InvalidAcceptLanguage.NotFound', 404);
        await expectApiError(call({ instanceChargeType: 'Free' }), 'Invalid.InstanceChargeType', 403);
        await expectApiError(call({ resourceType: 'planet' }), 'InvalidResourceType.NotFound', 404);
      });
    });

    describe('authentication', () => {
      it('refuses a wrong secret and an unknown key, with V3 and V1', async () => {
        for (const signature of ['v3', 'v1'] as const) {
          const wrong = ecsClient(server.endpoint, server.accessKeyId, 'not-the-secret', signature);
          await expectApiError(describeCommands(wrong), 'SignatureDoesNotMatch', 400);
          const unknown = ecsClient(server.endpoint, 'LTAInobody', 'whatever', signature);
          await expectApiError(describeCommands(unknown), 'InvalidAccessKeyId.NotFound', 404);
        }
      });

      it('refuses a disabled key', async () => {
        const store = await openStore(backend.storeUrl(server.dataDir));
        try {
          await store.accessKeys.insert({
            id: 'LTAIdisabled',
            secret: 'disabled-secret',
            status: 'Inactive',
            description: '',
            createdAtMs: Date.now(),
          });
        } finally {
          await store.close();
        }
        const disabled = ecsClient(server.endpoint, 'LTAIdisabled', 'disabled-secret');
        await expectApiError(describeCommands(disabled), 'InvalidAccessKeyId.Inactive', 400);
      });
    });
  });
}
