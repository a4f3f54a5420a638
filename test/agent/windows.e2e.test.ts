import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/deadline.js';
import { ProtocolAgent } from '../helpers/protocol-agent.js';
import { type RawOptions, v3Raw } from '../helpers/raw-client.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

// No Windows machine exists here: a protocol-level agent reports a Windows OS truthfully.
const region = 'cn-hangzhou';
let server: ServerProcess;
let client: EcsClient;
let windows: ProtocolAgent;
let linux: ProtocolAgent;

beforeAll(async () => {
  server = await startServerProcess();
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
  const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
  const activation = { id: body?.activationId ?? '', code: body?.activationCode ?? '' };
  windows = await ProtocolAgent.register(server.url, activation, 'windows');
  linux = await ProtocolAgent.register(server.url, activation, 'linux');
  const base: RawOptions = {
    url: server.url,
    accessKeyId: server.accessKeyId,
    accessKeySecret: server.accessKeySecret,
  };
  await v3Raw({
    ...base,
    action: 'CreateSecretParameter',
    params: { Name: 'admin-password', Value: 'Pa55w0rd!' },
    extraHeaders: { 'x-acs-version': '2019-06-01' },
  });
});

afterAll(async () => {
  windows?.close();
  linux?.close();
  await server?.stop();
});

const run = (type: string, fields: Record<string, unknown> = {}, target = () => windows) =>
  client.runCommand(
    new Ecs.RunCommandRequest({
      regionId: region,
      type,
      commandContent: 'echo hi',
      instanceId: [target().instanceId],
      ...fields,
    }),
  );

describe('Windows rules (the seed: WindowsPasswordName)', () => {
  it('runs bat and PowerShell commands on a Windows instance, and refuses shell scripts there', async () => {
    await run('RunBatScript');
    await run('RunPowerShellScript');
    await waitFor('two tasks', () => (windows.tasks.length >= 2 ? true : undefined));
    expect(windows.tasks.map((task) => task.commandType)).toEqual(['RunBatScript', 'RunPowerShellScript']);
    await expectApiError(run('RunShellScript'), 'InvalidInstance.NotMatch', 400);
    await expectApiError(
      run('RunBatScript', {}, () => linux),
      'InvalidInstance.NotMatch',
      400,
    );
  });

  it('needs WindowsPasswordName naming a secret parameter for a user other than System', async () => {
    await expectApiError(
      run('RunBatScript', { username: 'Administrator' }),
      'WindowsPasswordName.Missed',
      403,
    );
    await expectApiError(
      run('RunBatScript', { username: 'Administrator', windowsPasswordName: 'no-such-secret' }),
      'ParameterStore.InvalidParameters',
      403,
    );
    await run('RunBatScript', { username: 'System' });
    const { body } = await run('RunBatScript', {
      username: 'Administrator',
      windowsPasswordName: 'admin-password',
    });
    const task = await waitFor('the run-as task', () =>
      windows.tasks.find((t) => t.invokeId === body?.invokeId),
    );
    expect(task).toMatchObject({ username: 'Administrator', password: 'Pa55w0rd!' });
    const described = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, invokeId: body?.invokeId }),
    );
    expect(JSON.stringify(described.body)).not.toContain('Pa55w0rd!');
  });
});

describe('ClientToken under load', () => {
  it('creates exactly one invocation for 50 concurrent identical InvokeCommand calls', async () => {
    const { body } = await client.createCommand(
      new Ecs.CreateCommandRequest({
        regionId: region,
        name: 'once-only',
        type: 'RunShellScript',
        commandContent: 'ZWNobw==',
      }),
    );
    const commandId = body?.commandId ?? '';
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, () =>
        client.invokeCommand(
          new Ecs.InvokeCommandRequest({
            regionId: region,
            commandId,
            instanceId: [linux.instanceId],
            clientToken: 'fifty',
          }),
        ),
      ),
    );
    const invokeIds = new Set(
      outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.body?.invokeId] : [])),
    );
    const refused = new Set(
      outcomes.flatMap((o) => (o.status === 'rejected' ? [(o.reason as { code: string }).code] : [])),
    );
    expect(invokeIds.size).toBe(1);
    expect([...refused].every((code) => code === 'IdempotentProcessing')).toBe(true);
    const invocations = await client.describeInvocations(
      new Ecs.DescribeInvocationsRequest({ regionId: region, commandId }),
    );
    expect(invocations.body?.totalCount).toBe(1);
  });
});
