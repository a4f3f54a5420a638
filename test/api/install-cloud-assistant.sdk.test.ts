import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerIdentity } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const otherRegion = 'cn-beijing';

let server: ServerProcess;
let client: EcsClient;
const registered: string[] = [];

const install = (instanceId: string[] | undefined, regionId = region) =>
  client.installCloudAssistant(new Ecs.InstallCloudAssistantRequest({ regionId, instanceId }));

beforeAll(async () => {
  server = await startServerProcess({ env: { OPENASSIST_REGIONS: `${region},${otherRegion}` } });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const activation = (
    await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region, instanceCount: 2 }))
  ).body;
  for (const hostname of ['web-1', 'web-2']) {
    const identity = await registerIdentity(
      server.url,
      { id: activation?.activationId ?? '', code: activation?.activationCode ?? '' },
      { hostname },
    );
    registered.push(identity.instanceId);
  }
});

afterAll(async () => {
  await server?.stop();
});

describe('InstallCloudAssistant through the official SDK', () => {
  it('answers success for registered instances: their agent is installed already', async () => {
    const response = await install(registered);
    expect(response.statusCode).toBe(200);
    expect(response.body?.requestId).toMatch(/\S/);
    // Naming one twice is the same request.
    expect((await install([registered[0] ?? '', registered[0] ?? ''])).statusCode).toBe(200);
  });

  it('refuses without instances, with too many, and with one not in the region, as Alibaba does', async () => {
    await expectApiError(install(undefined), 'MissingParameter.InstanceIds', 400);
    await expectApiError(install([]), 'MissingParameter.InstanceIds', 400);
    const many = Array.from({ length: 51 }, (_, i) => `mi-${i.toString(16).padStart(8, '0')}`);
    await expectApiError(install(many), 'InstanceIds.ExceedLimit', 403);
    const error = await expectApiError(
      install([...registered, 'mi-0123456789abcdef']),
      'InvalidInstance.NotFound',
      404,
    );
    expect(String(error.Message)).toContain('mi-0123456789abcdef');
    // Another region's view does not hold these instances.
    await expectApiError(install(registered, otherRegion), 'InvalidInstance.NotFound', 404);
  });
});
