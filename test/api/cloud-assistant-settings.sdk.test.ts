import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { version } from '../../src/version.js';
import { agentCgroups, memoryLimitFile, removeAgentCgroups } from '../helpers/agent-cgroups.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import { cli, cliJson } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { connectOfferListener } from '../helpers/protocol-agent.js';
import { Ecs, type EcsClient, ecsClient, expectApiError } from '../helpers/sdk.js';
import { type ServerProcess, startServerProcess } from '../helpers/server-process.js';

const region = 'cn-hangzhou';
const otherRegion = 'cn-beijing';
const executable = 'openassist-agent-linux-x64';

let server: ServerProcess;
let client: EcsClient;
let agentDir: string;
let sha256: string;
let sizeBytes: number;

const modify = (config: Record<string, unknown> | undefined, fields: Record<string, unknown> = {}) =>
  client.modifyCloudAssistantSettings(
    new Ecs.ModifyCloudAssistantSettingsRequest({
      regionId: region,
      settingType: 'AgentUpgradeConfig',
      ...(config && {
        agentUpgradeConfig: new Ecs.ModifyCloudAssistantSettingsRequestAgentUpgradeConfig(config),
      }),
      ...fields,
    }),
  );
const describeSettings = async (settingType: string[], regionId = region) =>
  (
    await client.describeCloudAssistantSettings(
      new Ecs.DescribeCloudAssistantSettingsRequest({ regionId, settingType }),
    )
  ).body;

beforeAll(async () => {
  // The server's agent directory holds an "executable" and its digest, as the build writes them.
  agentDir = await mkdtemp(join(tmpdir(), 'openassist-agent-dir-'));
  const content = Buffer.from('#!/bin/sh\necho stand-in\n');
  sha256 = createHash('sha256').update(content).digest('hex');
  sizeBytes = content.length;
  await writeFile(join(agentDir, executable), content, { mode: 0o755 });
  await writeFile(join(agentDir, `${executable}.sha256`), `${sha256}  ${executable}\n`);
  server = await startServerProcess({
    env: { OPENASSIST_AGENT_DIR: agentDir, OPENASSIST_REGIONS: `${region},${otherRegion}` },
  });
  client = ecsClient(server.endpoint, server.accessKeyId, server.accessKeySecret);
});

afterAll(async () => {
  await server?.stop();
  await rm(agentDir, { recursive: true, force: true });
});

describe('ModifyCloudAssistantSettings and DescribeCloudAssistantSettings (AgentUpgradeConfig)', () => {
  it('describes the defaults of a region never set: upgrades off, any time, UTC', async () => {
    const body = await describeSettings(['AgentUpgradeConfig'], otherRegion);
    expect(body?.agentUpgradeConfig).toEqual({
      enabled: false,
      allowedUpgradeWindows: { allowedUpgradeWindow: [] },
      timeZone: 'UTC',
      bootstrapUpgrade: true,
      disableUpgrade: false,
    });
    expect(body?.requestId).toMatch(/^[0-9A-F-]{36}$/);
  });

  it('stores the SDK model per region, and a later call changes only the fields it names', async () => {
    const { body } = await modify({
      enabled: true,
      allowedUpgradeWindow: ['02:00-03:00', '23:00-01:00'],
      timeZone: 'Asia/Shanghai',
      bootstrapUpgrade: false,
    });
    expect(body?.requestId).toBeTruthy();
    await modify({ bootstrapUpgrade: true });
    expect((await describeSettings(['AgentUpgradeConfig']))?.agentUpgradeConfig).toEqual({
      enabled: true,
      allowedUpgradeWindows: { allowedUpgradeWindow: ['02:00-03:00', '23:00-01:00'] },
      timeZone: 'Asia/Shanghai',
      bootstrapUpgrade: true,
      disableUpgrade: false,
    });
    expect((await describeSettings(['AgentUpgradeConfig'], otherRegion))?.agentUpgradeConfig?.enabled).toBe(
      false,
    );
    await modify({ enabled: false, allowedUpgradeWindow: [], timeZone: 'UTC' });
  });

  it('answers the delivery types, and sessions as on by default', async () => {
    const body = await describeSettings(['SessionManagerConfig', 'InvocationDelivery', 'AgentUpgradeConfig']);
    // RecordInput, an extension, is not in the SDK's response model.
    expect(body?.sessionManagerConfig).toEqual({ sessionManagerEnabled: true });
    // Output delivery to object storage is off until a region's OssDeliveryConfig enables it.
    expect(body?.ossDeliveryConfigs?.ossDeliveryConfig).toEqual([
      { deliveryType: 'Invocation', enabled: false, bucketName: '', prefix: '', encryptionType: 'Inherit' },
    ]);
    expect(body?.slsDeliveryConfigs?.slsDeliveryConfig).toEqual([]);
    expect(body?.agentUpgradeConfig?.enabled).toBe(false);
  });

  it('stores OssDeliveryConfig (InvocationDelivery) per region, a later call changing only the fields it names', async () => {
    const delivery = (config: Record<string, unknown>, regionId = otherRegion) =>
      client.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({
          regionId,
          settingType: 'InvocationDelivery',
          ossDeliveryConfig: new Ecs.ModifyCloudAssistantSettingsRequestOssDeliveryConfig(config),
        }),
      );
    await delivery({ enabled: true, bucketName: 'run-logs', prefix: 'fleet/out/' });
    await delivery({ prefix: 'fleet/runs' });
    const shown = async (regionId: string) =>
      (await describeSettings(['InvocationDelivery'], regionId))?.ossDeliveryConfigs?.ossDeliveryConfig;
    expect(await shown(otherRegion)).toEqual([
      {
        deliveryType: 'Invocation',
        enabled: true,
        bucketName: 'run-logs',
        prefix: 'fleet/runs',
        encryptionType: 'Inherit',
      },
    ]);
    expect((await shown(region))?.[0]?.enabled).toBe(false);
    for (const bad of [
      { enabled: true, bucketName: 'No_Such' },
      { encryptionType: 'KMS' },
      { prefix: '/absolute' },
    ]) {
      await expectApiError(delivery(bad), 'InvalidParameter', 400);
    }
    await delivery({ enabled: false, bucketName: '', prefix: '' });
    expect((await shown(otherRegion))?.[0]).toMatchObject({ enabled: false, bucketName: '' });
  });

  it.each<[string, () => Promise<unknown>, string, number]>([
    [
      'Modify without SettingType',
      () => modify({ enabled: true }, { settingType: undefined }),
      'MissingParameter',
      400,
    ],
    ['Modify without AgentUpgradeConfig', () => modify(undefined), 'MissingParameter', 400],
    [
      'Modify of an unknown setting type',
      () => modify({ enabled: true }, { settingType: 'Nope' }),
      'InvalidParameter',
      400,
    ],
    [
      'Modify of a setting type this server does not have',
      () => modify(undefined, { settingType: 'SessionManagerDelivery' }),
      'InvalidParameter',
      400,
    ],
    [
      'a window that is not HH:mm-HH:mm',
      () => modify({ allowedUpgradeWindow: ['2:00-3:00'] }),
      'InvalidParameter',
      400,
    ],
    [
      'a window under an hour',
      () => modify({ allowedUpgradeWindow: ['02:00-02:30'] }),
      'InvalidParameter',
      400,
    ],
    ['an unknown time zone', () => modify({ timeZone: 'Mars/Olympus' }), 'InvalidParameter', 400],
    ['a time zone with a leading zero', () => modify({ timeZone: 'GMT+08:00' }), 'InvalidParameter', 400],
    ['Describe without SettingType', () => describeSettings([]), 'MissingParameter', 400],
    ['Describe of an unknown setting type', () => describeSettings(['Nope']), 'InvalidParameter', 400],
    [
      'a region this server does not serve',
      () => describeSettings(['AgentUpgradeConfig'], 'us-west-1'),
      'RegionId.ApiNotSupported',
      400,
    ],
  ])('refuses %s', async (_case, call, code, status) => {
    await expectApiError(call(), code, status);
  });

  it('leaves the stored setting alone when a call is refused', async () => {
    await modify({ enabled: false, timeZone: 'GMT+8:00' });
    await expectApiError(modify({ enabled: true, timeZone: 'nowhere' }), 'InvalidParameter', 400);
    expect((await describeSettings(['AgentUpgradeConfig']))?.agentUpgradeConfig).toMatchObject({
      enabled: false,
      timeZone: 'GMT+8:00',
    });
  });

  it('is authorized by policy action names, and refused to a key scoped to a resource group', async () => {
    const root = {
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    };
    const newClient = async (limits: Record<string, string>) => {
      const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        limits,
        '2015-05-01',
      );
      return ecsClient(server.endpoint, AccessKey.AccessKeyId, AccessKey.AccessKeySecret);
    };
    const reader = await newClient({
      Policy: JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['ecs:Describe*'] }] }),
    });
    await reader.describeCloudAssistantSettings(
      new Ecs.DescribeCloudAssistantSettingsRequest({
        regionId: region,
        settingType: ['AgentUpgradeConfig'],
      }),
    );
    await expectApiError(
      reader.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({
          regionId: region,
          settingType: 'AgentUpgradeConfig',
          agentUpgradeConfig: new Ecs.ModifyCloudAssistantSettingsRequestAgentUpgradeConfig({
            enabled: true,
          }),
        }),
      ),
      'Forbidden.RAM',
      403,
    );
    const { ResourceGroup } = await invoke<{ ResourceGroup: { Id: string } }>(
      root,
      'CreateResourceGroup',
      { Name: 'settings-scope', DisplayName: 'settings-scope' },
      '2020-03-31',
    );
    const scoped = await newClient({ ResourceGroupId: ResourceGroup.Id });
    await expectApiError(
      scoped.describeCloudAssistantSettings(
        new Ecs.DescribeCloudAssistantSettingsRequest({
          regionId: region,
          settingType: ['AgentUpgradeConfig'],
        }),
      ),
      'Forbidden.RAM',
      403,
    );
  });
});

describe('upgrade offers to connected agents', () => {
  async function connectAgent(fields: { agentVersion: string; arch?: string }) {
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    return connectOfferListener(
      server.url,
      { id: body?.activationId ?? '', code: body?.activationCode ?? '' },
      fields,
    );
  }

  it('offers the server executable to older agents that said their arch, when enabled', async () => {
    await modify({ enabled: false, allowedUpgradeWindow: [], timeZone: 'UTC' });
    const current = await connectAgent({ agentVersion: version, arch: 'x64' });
    const noArch = await connectAgent({ agentVersion: '0.2.0' });
    const old = await connectAgent({ agentVersion: '0.2.0', arch: 'x64' });
    const otherArch = await connectAgent({ agentVersion: '0.2.0', arch: 'riscv64' });
    try {
      expect(old.offers).toEqual([]);
      await modify({ enabled: true, allowedUpgradeWindow: ['01:00-02:30'], timeZone: 'GMT+8:00' });
      const [offer] = await waitFor('the offer', () => (old.offers.length > 0 ? old.offers : undefined));
      expect(offer).toEqual({
        type: 'upgrade',
        version,
        path: `/agent/download/${executable}`,
        sha256,
        sizeBytes,
        windows: ['01:00-02:30'],
        timeZone: 'GMT+8:00',
      });
      // The others were passed over in the same pass, which went through them first.
      expect([current.offers, noArch.offers, otherArch.offers]).toEqual([[], [], []]);
      // An older agent saying hello while enabled is offered at once.
      const late = await connectAgent({ agentVersion: '0.1.0', arch: 'x64' });
      await waitFor('the offer on hello', () => (late.offers.length > 0 ? true : undefined));
      late.close();
    } finally {
      for (const agent of [current, noArch, old, otherArch]) agent.close();
      await modify({ enabled: false });
    }
  });
});

describe('ResourceUsageConfig applied by a running agent, and ListPluginStatus', () => {
  const mib = 1024 * 1024;
  const modifyUsage = (config: Record<string, unknown>) =>
    client.modifyCloudAssistantSettings(
      new Ecs.ModifyCloudAssistantSettingsRequest({
        regionId: region,
        settingType: 'ResourceUsageConfig',
        resourceUsageConfig: new Ecs.ModifyCloudAssistantSettingsRequestResourceUsageConfig(config),
      }),
    );
  /** `""` clears a field (the SDK's model types the numbers, so this goes by hand, signed the same). */
  const clearUsage = (config: Record<string, string>) =>
    invoke(
      { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
      'ModifyCloudAssistantSettings',
      { RegionId: region, SettingType: 'ResourceUsageConfig', ResourceUsageConfig: JSON.stringify(config) },
    );
  const listPlugins = (fields: Record<string, unknown> = {}) =>
    client.listPluginStatus(new Ecs.ListPluginStatusRequest({ regionId: region, ...fields }));
  /** The extension fields of ListPluginStatus (the SDK's model keeps only its own). */
  const resourceUsageOf = async (instanceId: string) => {
    const body = await invoke<{
      InstancePluginStatusSet: {
        InstancePluginStatus: { InstanceId: string; ResourceUsage: Record<string, unknown> }[];
      };
    }>(
      { endpoint: server.url, accessKeyId: server.accessKeyId, accessKeySecret: server.accessKeySecret },
      'ListPluginStatus',
      { RegionId: region, 'InstanceId.1': instanceId },
    );
    return body.InstancePluginStatusSet.InstancePluginStatus[0]?.ResourceUsage;
  };
  let agent: AgentProcess;
  let instanceId: string;

  /** Runs a script on the agent and waits for its end: its status and its output. */
  const runToEnd = async (script: string) => {
    const run = await client.runCommand(
      new Ecs.RunCommandRequest({
        regionId: region,
        type: 'RunShellScript',
        commandContent: script,
        instanceId: [instanceId],
        contentEncoding: 'PlainText',
      }),
    );
    return waitFor('the run to end', async () => {
      const results = await client.describeInvocationResults(
        new Ecs.DescribeInvocationResultsRequest({ regionId: region, invokeId: run.body?.invokeId ?? '' }),
      );
      const result = results.body?.invocation?.invocationResults?.invocationResult?.[0];
      const status = result?.invocationStatus ?? '';
      if (['', 'Pending', 'Running', 'Stopping'].includes(status)) return undefined;
      return { status, output: Buffer.from(result?.output ?? '', 'base64').toString() };
    });
  };

  beforeAll(async () => {
    const { body } = await client.createActivation(new Ecs.CreateActivationRequest({ regionId: region }));
    agent = await startAgentProcess({
      serverUrl: server.url,
      activationId: body?.activationId ?? '',
      activationCode: body?.activationCode ?? '',
    });
    instanceId = agent.instanceId;
  });

  afterAll(async () => {
    await clearUsage({ CpuLimit: '', MemoryLimit: '', LogFileCountLimit: '' }).catch(() => undefined);
    const groups = agent?.child.pid ? agentCgroups(agent.child.pid) : [];
    await agent?.stop();
    removeAgentCgroups(groups);
    await rm(agent.stateDir, { recursive: true, force: true });
  });

  it('lists no plugins for an agent, with its version, heartbeat and caps state (none until set)', async () => {
    const body = (await listPlugins({ instanceId: [instanceId] })).body;
    expect(body?.totalCount).toBe(1);
    expect(body?.instancePluginStatusSet?.instancePluginStatus).toEqual([
      { instanceId, pluginStatusSet: { pluginStatus: [] } },
    ]);
    const named = (await listPlugins({ instanceId: [instanceId], name: 'ecs-tool' })).body;
    expect(named?.instancePluginStatusSet?.instancePluginStatus?.[0]?.pluginStatusSet?.pluginStatus).toEqual([
      { pluginName: 'ecs-tool', pluginStatus: 'NotInstalled' },
    ]);
    const usage = await waitFor('the first report', () =>
      resourceUsageOf(instanceId).then((u) => (u?.State === 'none' ? u : undefined)),
    );
    expect(usage).toMatchObject({ State: 'none' });
  });

  it('pages both ways and refuses what the model refuses', async () => {
    const byPage = (await listPlugins({ pageNumber: 1, pageSize: 1 })).body;
    expect(byPage).toMatchObject({ pageNumber: 1, pageSize: 1 });
    expect(byPage?.instancePluginStatusSet?.instancePluginStatus).toHaveLength(1);
    const total = byPage?.totalCount ?? 0;
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = (await listPlugins({ maxResults: 1, ...(nextToken && { nextToken }) })).body;
      seen.push(
        ...(page?.instancePluginStatusSet?.instancePluginStatus ?? []).map((i) => i.instanceId ?? ''),
      );
      nextToken = page?.nextToken;
    } while (nextToken);
    expect(seen).toHaveLength(total);
    expect(seen).toContain(instanceId);
    await expectApiError(
      listPlugins({ instanceId: Array.from({ length: 51 }, (_, i) => `mi-${i}`) }),
      'InstanceIds.ExceedLimit',
      403,
    );
    await expectApiError(
      listPlugins({ instanceId: ['mi-0123456789abcdef'] }),
      'InvalidInstance.NotFound',
      404,
    );
    await expectApiError(listPlugins({ name: 'x'.repeat(256) }), 'InvalidParameter', 400);
    await expectApiError(listPlugins({ maxResults: 51 }), 'InvalidParameter.MaxResults', 400);
  });

  it('is authorized by its policy action, and a scoped key must name instances of its group', async () => {
    const root = {
      endpoint: server.url,
      accessKeyId: server.accessKeyId,
      accessKeySecret: server.accessKeySecret,
    };
    const keyFor = async (limits: Record<string, string>) => {
      const { AccessKey } = await invoke<{ AccessKey: { AccessKeyId: string; AccessKeySecret: string } }>(
        root,
        'CreateAccessKey',
        limits,
        '2015-05-01',
      );
      return ecsClient(server.endpoint, AccessKey.AccessKeyId, AccessKey.AccessKeySecret);
    };
    const policy = (action: string) =>
      JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: [action] }] });
    const describer = await keyFor({ Policy: policy('ecs:Describe*') });
    const request = new Ecs.ListPluginStatusRequest({ regionId: region, instanceId: [instanceId] });
    await expectApiError(describer.listPluginStatus(request), 'Forbidden.RAM', 403);
    const lister = await keyFor({ Policy: policy('ecs:ListPluginStatus') });
    expect((await lister.listPluginStatus(request)).body?.totalCount).toBe(1);
    const { ResourceGroup } = await invoke<{ ResourceGroup: { Id: string } }>(
      root,
      'CreateResourceGroup',
      { Name: 'plugins-scope', DisplayName: 'plugins-scope' },
      '2020-03-31',
    );
    const scoped = await keyFor({ ResourceGroupId: ResourceGroup.Id });
    await expectApiError(
      scoped.listPluginStatus(new Ecs.ListPluginStatusRequest({ regionId: region })),
      'Forbidden.RAM',
      403,
    );
    await expectApiError(scoped.listPluginStatus(request), 'Forbidden.RAM', 403);
  });

  it('applies MemoryLimit and CpuLimit to the running agent within seconds, in a cgroup of its own', async () => {
    await modifyUsage({ memoryLimit: '512MB', cpuLimit: 50, logFileCountLimit: 10 });
    const settings = await describeSettings(['ResourceUsageConfig']);
    expect(settings?.resourceUsageConfig).toEqual({
      memoryLimit: '512MB',
      cpuLimit: 50,
      logFileCountLimit: 10,
    });
    const pid = agent.child.pid ?? 0;
    const usage = await waitFor(
      'the agent to report its caps',
      () => resourceUsageOf(instanceId).then((u) => (u?.State === 'none' ? undefined : u)),
      10_000,
    );
    if (usage?.State === 'unavailable') {
      // The documented fallback (a machine whose cgroups cannot be written): said, not pretended.
      expect(usage.Reason).toMatch(/cgroup/);
      return;
    }
    expect(usage).toMatchObject({ State: 'applied', MemoryLimitBytes: 512 * mib, CpuLimit: 50 });
    const { path, file } = memoryLimitFile(pid);
    expect(path).toBe(usage?.Cgroup);
    expect(path.endsWith(`/openassist-${instanceId}/agent`)).toBe(true);
    expect(readFileSync(file, 'utf8').trim()).toBe(String(512 * mib));
    // A script runs beside the agent's cgroup, not under its caps.
    const where = await runToEnd('cat /proc/self/cgroup');
    expect(where.status).toBe('Success');
    const output = where.output;
    expect(output).toContain(`/openassist-${instanceId}/runs`);
    // Under a cap of 100 MiB on the agent, a script holding 200 MiB runs to its end: the cap is
    // the agent's own, never its scripts'.
    await modifyUsage({ memoryLimit: '100MB' });
    const lower = await waitFor('the lower cap', () =>
      resourceUsageOf(instanceId).then((u) =>
        u?.MemoryLimitBytes === 100 * mib || u?.State === 'unavailable' ? u : undefined,
      ),
    );
    if (lower?.State === 'applied') {
      expect(readFileSync(file, 'utf8').trim()).toBe(String(100 * mib));
      const big = await runToEnd('head -c 200M /dev/zero | tail -n 1 | wc -c');
      expect([big.status, big.output.trim()]).toEqual(['Success', String(200 * mib)]);
    } else {
      // The agent held more than 100 MiB at the time: said, not applied (the documented guard).
      expect(lower?.Reason).toMatch(/below what the agent holds now/);
    }
    // Lifted: the file says no limit again.
    await modifyUsage({ memoryLimit: '' });
    await waitFor('the limit lifted', () => {
      const text = readFileSync(file, 'utf8').trim();
      return text === 'max' || Number(text) > 2 ** 62 ? true : undefined;
    });
    expect(await resourceUsageOf(instanceId)).toMatchObject({ State: 'applied', CpuLimit: 50 });
  });

  it('refuses ResourceUsageConfig values out of the model bounds, and a scoped key', async () => {
    await expectApiError(modifyUsage({ cpuLimit: 5 }), 'InvalidParameter', 400);
    await expectApiError(modifyUsage({ memoryLimit: '2GB' }), 'InvalidParameter', 400);
    await expectApiError(
      modifyUsage({ memoryLimit: '1048576KB', overloadLimit: 1 }),
      'InvalidParameter',
      400,
    );
    await expectApiError(
      client.modifyCloudAssistantSettings(
        new Ecs.ModifyCloudAssistantSettingsRequest({ regionId: region, settingType: 'ResourceUsageConfig' }),
      ),
      'MissingParameter',
      400,
    );
  });
});

describe('openassist settings get|set', () => {
  const env = () => ({
    HOME: agentDir,
    OPENASSIST_ENDPOINT: server.url,
    OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
    OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
    OPENASSIST_REGION: otherRegion,
  });

  it('sets fields by FIELD=VALUE or --config, clears one with FIELD=, and shows every type', async () => {
    const set = await cliJson(['settings', 'set', 'ResourceUsageConfig', 'CpuLimit=30', 'MemoryLimit=64MB'], {
      env: env(),
    });
    expect(set).toEqual({ CpuLimit: 30, MemoryLimit: '64MB' });
    expect(await cliJson(['settings', 'set', 'ResourceUsageConfig', 'CpuLimit='], { env: env() })).toEqual({
      MemoryLimit: '64MB',
    });
    expect(
      await cliJson(
        ['settings', 'set', 'AgentUpgradeConfig', '--config', '{"AllowedUpgradeWindow":["02:00-03:00"]}'],
        {
          env: env(),
        },
      ),
    ).toMatchObject({ AllowedUpgradeWindows: { AllowedUpgradeWindow: ['02:00-03:00'] } });
    const all = await cliJson<Record<string, unknown>>(['settings', 'get'], { env: env() });
    expect(Object.keys(all).sort()).toEqual([
      'AgentUpgradeConfig',
      'OssDeliveryConfigs',
      'ResourceUsageConfig',
      'SessionManagerConfig',
      'SlsDeliveryConfigs',
    ]);
    const table = await cli(['settings', 'get', 'ResourceUsageConfig'], { env: env() });
    expect(table.stdout).toMatch(/ResourceUsageConfig\s*│\s*MemoryLimit\s*│\s*64MB/);
    // The same region through the SDK: what the CLI set is what the API stored.
    expect((await describeSettings(['ResourceUsageConfig'], otherRegion))?.resourceUsageConfig).toEqual({
      memoryLimit: '64MB',
    });
    await cli(['settings', 'set', 'ResourceUsageConfig', 'MemoryLimit='], { env: env() });
  });

  it('says what is wrong in one line: an unknown field, a bad value, a refusal of the server', async () => {
    const unknown = await cli(['settings', 'set', 'ResourceUsageConfig', 'Cpu=1'], { env: env() });
    expect([unknown.code, unknown.stderr]).toEqual([2, expect.stringContaining('CpuLimit, MemoryLimit')]);
    const notNumber = await cli(['settings', 'set', 'ResourceUsageConfig', 'CpuLimit=lots'], { env: env() });
    expect(notNumber.stderr).toContain('CpuLimit is a whole number');
    const refused = await cli(['settings', 'set', 'ResourceUsageConfig', 'CpuLimit=99'], { env: env() });
    expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('InvalidParameter')]);
    const other = await cli(['settings', 'set', 'SessionManagerDelivery', '--config', '{"Enabled":true}'], {
      env: env(),
    });
    expect([other.code, other.stderr]).toEqual([1, expect.stringContaining('not supported by this server')]);
  });
});
