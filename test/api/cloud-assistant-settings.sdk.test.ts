import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/client/api.js';
import { version } from '../../src/version.js';
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

  it('answers the setting types this server does not have as off', async () => {
    const body = await describeSettings(['SessionManagerConfig', 'InvocationDelivery', 'AgentUpgradeConfig']);
    expect(body?.sessionManagerConfig).toEqual({ sessionManagerEnabled: false });
    expect(body?.ossDeliveryConfigs?.ossDeliveryConfig).toEqual([]);
    expect(body?.slsDeliveryConfigs?.slsDeliveryConfig).toEqual([]);
    expect(body?.agentUpgradeConfig?.enabled).toBe(false);
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
      () =>
        modify(undefined, {
          settingType: 'SessionManagerConfig',
          sessionManagerConfig: new Ecs.ModifyCloudAssistantSettingsRequestSessionManagerConfig({
            sessionManagerEnabled: true,
          }),
        }),
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
