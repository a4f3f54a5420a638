import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, backendFactories } from '../helpers/backends.js';
import { registerIdentity } from '../helpers/protocol-agent.js';
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
  });
}
