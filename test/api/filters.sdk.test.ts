import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent, registerIdentity } from '../helpers/protocol-agent.js';
import { createResourceGroup } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// The filters and fields of docs/api-coverage.md, through the official SDK, on both stores.

const region = 'cn-hangzhou';

for (const factory of backendFactories) {
  const available = await factory.available();
  describe.skipIf(!available)(`Describe filters through the official SDK on ${factory.name}`, () => {
    let backend: Backend;
    let server: ServerProcess;
    let client: EcsClient;
    let activation: { id: string; code: string };
    let linuxId: string;
    let windowsId: string;
    let agent: ProtocolAgent;

    beforeAll(async () => {
      backend = factory.make();
      server = await startServerProcess({ databaseUrl: backend.databaseUrl });
      client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
      const created = await client.createActivation(
        new Ecs.CreateActivationRequest({ regionId: region, instanceName: 'web', instanceCount: 9 }),
      );
      activation = { id: created.body?.activationId ?? '', code: created.body?.activationCode ?? '' };
      linuxId = (await registerIdentity(server.url, activation, { machineId: 'machine-linux' })).instanceId;
      windowsId = (
        await registerIdentity(server.url, activation, { osType: 'windows', machineId: 'machine-windows' })
      ).instanceId;
    });

    afterAll(async () => {
      agent?.close();
      expect(await server?.stop()).toBe(0);
      await backend?.dispose();
    });

    describe('DescribeManagedInstances', () => {
      const ids = async (fields: Record<string, unknown>) =>
        (
          await client.describeManagedInstances(
            new Ecs.DescribeManagedInstancesRequest({
              regionId: region,
              activationId: activation.id,
              ...fields,
            }),
          )
        ).body?.instances
          ?.map((instance) => instance.instanceId)
          .sort();

      it('filters by MachineId, exactly', async () => {
        expect(await ids({ machineId: 'machine-linux' })).toEqual([linuxId]);
        expect(await ids({ machineId: 'machine' })).toEqual([]);
        const [instance] =
          (
            await client.describeManagedInstances(
              new Ecs.DescribeManagedInstancesRequest({ regionId: region, machineId: 'machine-windows' }),
            )
          ).body?.instances ?? [];
        expect(instance).toMatchObject({
          instanceId: windowsId,
          machineId: 'machine-windows',
          osType: 'windows',
        });
      });

      it('filters by InstanceIp, the address the agent registered from, shown as IntranetIp when private', async () => {
        expect(await ids({ instanceIp: '127.0.0.1' })).toEqual([linuxId, windowsId].sort());
        expect(await ids({ instanceIp: '::ffff:127.0.0.1' })).toEqual([linuxId, windowsId].sort());
        expect(await ids({ instanceIp: '10.9.9.9' })).toEqual([]);
        const [instance] =
          (
            await client.describeManagedInstances(
              new Ecs.DescribeManagedInstancesRequest({ regionId: region, instanceId: [linuxId] }),
            )
          ).body?.instances ?? [];
        // Loopback is no internet address.
        expect(instance).toMatchObject({ intranetIp: '127.0.0.1', internetIp: '' });
        await expectApiError(
          client.describeManagedInstances(
            new Ecs.DescribeManagedInstancesRequest({ regionId: region, instanceIp: '192.168.*.*' }),
          ),
          'InvalidParameter',
          400,
        );
      });

      it('filters by OsType in any case among Linux, Windows and FreeBSD, and refuses another', async () => {
        expect(await ids({ osType: 'WINDOWS' })).toEqual([windowsId]);
        expect(await ids({ osType: 'linux' })).toEqual([linuxId]);
        expect(await ids({ osType: 'FreeBSD' })).toEqual([]);
        await expectApiError(
          client.describeManagedInstances(
            new Ecs.DescribeManagedInstancesRequest({ regionId: region, osType: 'Solaris' }),
          ),
          'InvalidParameter',
          400,
        );
      });
    });

    describe('DescribeCloudAssistantStatus', () => {
      const status = (fields: Record<string, unknown>) =>
        client.describeCloudAssistantStatus(
          new Ecs.DescribeCloudAssistantStatusRequest({ regionId: region, ...fields }),
        );

      it('filters by OSType in any case, and refuses another value', async () => {
        const set = (await status({ OSType: 'windows', instanceId: [linuxId, windowsId] })).body
          ?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus;
        expect(set?.map((item) => [item.instanceId, item.OSType])).toEqual([[windowsId, 'Windows']]);
        await expectApiError(status({ OSType: 'Plan9' }), 'InvalidParameter', 400);
      });

      it('answers every named instance whatever MaxResults says', async () => {
        const body = (await status({ instanceId: [linuxId, windowsId], maxResults: 1 })).body;
        expect(
          body?.instanceCloudAssistantStatusSet?.instanceCloudAssistantStatus
            ?.map((item) => item.instanceId)
            .sort(),
        ).toEqual([linuxId, windowsId].sort());
        expect(body?.totalCount).toBe(2);
      });
    });

    describe('DescribeInstances', () => {
      const names = async (fields: Record<string, unknown>) =>
        (
          await client.describeInstances(new Ecs.DescribeInstancesRequest({ regionId: region, ...fields }))
        ).body?.instances?.instance
          ?.map((instance) => instance.instanceName)
          .sort();

      it('reads * in InstanceName as a wildcard, and a ZoneId matches no managed instance', async () => {
        expect(await names({ instanceName: 'web*' })).toEqual(['web-1', 'web-2']);
        expect(await names({ instanceName: '*-2' })).toEqual(['web-2']);
        expect(await names({ instanceName: 'WEB-*' })).toEqual(['web-1', 'web-2']);
        expect(await names({ instanceName: 'web-1' })).toEqual(['web-1']);
        expect(await names({ instanceName: 'web' })).toEqual([]);
        expect(await names({ zoneId: 'cn-hangzhou-g' })).toEqual([]);
      });
    });

    describe('DescribeInvocations and DescribeInvocationResults', () => {
      let onceId: string;
      let scheduleId: string;

      const invocations = (fields: Record<string, unknown>) =>
        client.describeInvocations(new Ecs.DescribeInvocationsRequest({ regionId: region, ...fields }));
      const invokeIds = async (fields: Record<string, unknown>) =>
        (await invocations({ maxResults: 50, ...fields })).body?.invocations?.invocation
          ?.map((invocation) => invocation.invokeId)
          .sort();
      const statusOf = async (invokeId: string) =>
        (await invocations({ invokeId })).body?.invocations?.invocation?.[0]?.invocationStatus;

      beforeAll(async () => {
        agent = await ProtocolAgent.register(server.url, activation, 'linux');
        const run = async (name: string, fields: Record<string, unknown> = {}) =>
          (
            await client.runCommand(
              new Ecs.RunCommandRequest({
                regionId: region,
                type: 'RunShellScript',
                commandContent: 'echo hi',
                instanceId: [agent.instanceId],
                name,
                ...fields,
              }),
            )
          ).body?.invokeId ?? '';
        onceId = await run('once-cmd');
        scheduleId = await run('timed-cmd', { frequency: 'rate(1h)' });
        await waitFor('the run to succeed', async () =>
          (await statusOf(onceId)) === 'Success' ? true : undefined,
        );
        await waitFor('the schedule to be held', async () =>
          (await statusOf(scheduleId)) === 'Scheduled' ? true : undefined,
        );
      });

      it('filters by Timed: the tasks still to run again, or the others; absent lists both', async () => {
        expect(await invokeIds({ timed: true })).toEqual([scheduleId]);
        expect(await invokeIds({ timed: false })).toEqual([onceId]);
        expect(await invokeIds({})).toEqual([onceId, scheduleId].sort());
      });

      it('says which invocations and instances are Timed', async () => {
        const listed = (await invocations({ maxResults: 50 })).body?.invocations?.invocation ?? [];
        const byId = new Map(listed.map((invocation) => [invocation.invokeId, invocation]));
        expect(byId.get(scheduleId)).toMatchObject({ timed: true, repeatMode: 'Period' });
        expect(byId.get(scheduleId)?.invokeInstances?.invokeInstance?.[0]?.timed).toBe(true);
        expect(byId.get(onceId)).toMatchObject({ timed: false, repeatMode: 'Once' });
        expect(byId.get(onceId)?.invokeInstances?.invokeInstance?.[0]?.timed).toBe(false);
      });

      it('ignores CommandName, RepeatMode and InvokeStatus=PartialFailed with InstanceId, as documented', async () => {
        expect(await invokeIds({ commandName: 'timed-cmd' })).toEqual([scheduleId]);
        expect(await invokeIds({ commandName: 'nothing' })).toEqual([]);
        expect(await invokeIds({ commandName: 'nothing', instanceId: agent.instanceId })).toEqual(
          [onceId, scheduleId].sort(),
        );
        expect(await invokeIds({ repeatMode: 'Period' })).toEqual([scheduleId]);
        expect(await invokeIds({ repeatMode: 'EveryReboot', instanceId: agent.instanceId })).toEqual(
          [onceId, scheduleId].sort(),
        );
        expect(await invokeIds({ invokeStatus: 'PartialFailed' })).toEqual([]);
        expect(await invokeIds({ invokeStatus: 'PartialFailed', instanceId: agent.instanceId })).toEqual(
          [onceId, scheduleId].sort(),
        );
        expect(await invokeIds({ invokeStatus: 'Success', instanceId: agent.instanceId })).toEqual([onceId]);
        // A schedule reads Running until it is stopped.
        expect(await invokeIds({ invokeStatus: 'Running' })).toEqual([scheduleId]);
        expect(await invokeIds({ invokeStatus: 'Scheduled' })).toEqual([scheduleId]);
      });

      it('refuses a CommandType or RepeatMode the SDK does not list', async () => {
        await expectApiError(
          invocations({ commandType: 'RunPythonScript' }),
          'InvalidCommandType.NotFound',
          404,
        );
        await expectApiError(invocations({ repeatMode: 'DryRun' }), 'InvalidRepeatMode.NotFound', 404);
        expect(await invokeIds({ commandType: 'RunShellScript', repeatMode: 'Once' })).toEqual([onceId]);
      });

      it('needs InvokeId or InstanceId for IncludeOutput', async () => {
        await expectApiError(invocations({ includeOutput: true }), 'MissingParameter', 400);
        const [shown] =
          (await invocations({ includeOutput: true, invokeId: onceId, contentEncoding: 'PlainText' })).body
            ?.invocations?.invocation ?? [];
        expect(shown?.invokeInstances?.invokeInstance?.[0]?.invocationStatus).toBe('Success');
        expect(await invokeIds({ includeOutput: true, instanceId: agent.instanceId })).toEqual(
          [onceId, scheduleId].sort(),
        );
      });

      it("counts a held schedule's row as Running in InvokeRecordStatus, as its legacy status reads", async () => {
        const rows = (
          await client.describeInvocationResults(
            new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeRecordStatus: 'Running' }),
          )
        ).body?.invocation?.invocationResults?.invocationResult;
        expect(rows?.map((row) => [row.invokeId, row.invocationStatus, row.invokeRecordStatus])).toEqual([
          [scheduleId, 'Scheduled', 'Running'],
        ]);
      });

      it('needs InvokeId for IncludeHistory', async () => {
        const results = (fields: Record<string, unknown>) =>
          client.describeInvocationResults(
            new Ecs.DescribeInvocationResultsRequest({ regionId: region, ...fields }),
          );
        await expectApiError(results({ includeHistory: true }), 'MissingParameter', 400);
        const history = await results({ includeHistory: true, invokeId: onceId });
        expect(history.body?.invocation?.invocationResults?.invocationResult?.map((r) => r.invokeId)).toEqual(
          [onceId],
        );
      });
    });

    describe('ListTagResources', () => {
      it('lists the resources of a resource group with Tag.N.Key=acs:rm:rgId, alone', async () => {
        const group = await createResourceGroup(
          { url: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
          'tag-listing',
        );
        const command = async (name: string, fields: Record<string, unknown>) =>
          (
            await client.createCommand(
              new Ecs.CreateCommandRequest({
                regionId: region,
                name,
                type: 'RunShellScript',
                commandContent: 'ZWNobw==',
                tag: [new Ecs.CreateCommandRequestTag({ key: 'team', value: name })],
                ...fields,
              }),
            )
          ).body?.commandId;
        const inside = await command('inside', { resourceGroupId: group });
        await command('outside', {});
        const list = (tag: { key: string; value?: string }[]) =>
          client.listTagResources(
            new Ecs.ListTagResourcesRequest({
              regionId: region,
              resourceType: 'command',
              tag: tag.map((t) => new Ecs.ListTagResourcesRequestTag(t)),
            }),
          );
        const rows = (await list([{ key: 'acs:rm:rgId', value: group }])).body?.tagResources?.tagResource;
        expect(rows).toEqual([
          { resourceId: inside, resourceType: 'command', tagKey: 'team', tagValue: 'inside' },
        ]);
        await expectApiError(
          list([
            { key: 'acs:rm:rgId', value: group },
            { key: 'team', value: 'inside' },
          ]),
          'InvalidParameter',
          400,
        );
        await expectApiError(list([{ key: 'acs:rm:rgId' }]), 'InvalidTagValue.Malformed', 400);
      });
    });
  });
}
