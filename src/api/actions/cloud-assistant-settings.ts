import type { AgentUpgradeConfig } from '../../domain/agent-upgrade.js';
import { ApiError, missingParameter } from '../../domain/errors.js';
import type { ResourceUsageConfig } from '../../domain/resource-usage.js';
import {
  agentUpgradeSetting,
  invocationDeliverySetting,
  resourceUsageSetting,
  sessionManagerSetting,
} from '../../service/settings.js';
import type { Action } from '../action.js';

/**
 * The setting types Alibaba's SDK names. AgentUpgradeConfig, ResourceUsageConfig,
 * SessionManagerConfig and InvocationDelivery (its OssDeliveryConfig: the region's default bucket
 * for runs' output, docs/output-delivery.md) act here. SessionManagerDelivery is answered as what it
 * is on this server (nothing delivered) and Modify refuses it, as it refuses an SlsDeliveryConfig:
 * storing them would have Describe promise what this server does not do.
 */
const settingTypes = [
  agentUpgradeSetting,
  resourceUsageSetting,
  sessionManagerSetting,
  'SessionManagerDelivery',
  invocationDeliverySetting,
];
const modifiable = [
  agentUpgradeSetting,
  resourceUsageSetting,
  sessionManagerSetting,
  invocationDeliverySetting,
];
// The JSON parameter of each setting type: its own name, except a delivery's.
const parameterOf = (type: string): string =>
  type === invocationDeliverySetting ? 'OssDeliveryConfig' : type;

function checkSettingType(type: string, name: string): void {
  if (!settingTypes.includes(type)) {
    throw new ApiError(
      'InvalidParameter',
      `${name} "${type.slice(0, 40)}" is not a setting type; use one of ${settingTypes.join(', ')}.`,
    );
  }
}

const renderAgentUpgrade = (config: AgentUpgradeConfig) => ({
  Enabled: config.enabled,
  AllowedUpgradeWindows: { AllowedUpgradeWindow: [...config.allowedUpgradeWindows] },
  TimeZone: config.timeZone,
  BootstrapUpgrade: config.bootstrapUpgrade,
  DisableUpgrade: config.disableUpgrade,
});

/** Only the fields set: a field never set is no limit here (docs/agent-protocol.md, "Resource caps"). */
const renderResourceUsage = (config: ResourceUsageConfig) => ({
  ...(config.cpuLimit !== undefined && { CpuLimit: config.cpuLimit }),
  ...(config.memoryLimit !== undefined && { MemoryLimit: config.memoryLimit }),
  ...(config.keepScriptFile !== undefined && { KeepScriptFile: config.keepScriptFile }),
  ...(config.logSizeLimit !== undefined && { LogSizeLimit: config.logSizeLimit }),
  ...(config.logFileCountLimit !== undefined && { LogFileCountLimit: config.logFileCountLimit }),
  ...(config.overloadLimit !== undefined && { OverloadLimit: config.overloadLimit }),
});

export const modifyCloudAssistantSettings: Action = {
  name: 'ModifyCloudAssistantSettings',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = params.required('SettingType');
    checkSettingType(type, 'SettingType');
    if (!modifiable.includes(type)) {
      throw new ApiError(
        'InvalidParameter',
        `SettingType ${type} is not supported by this server; only ${modifiable.join(', ')} are.`,
      );
    }
    // The SettingType names the JSON parameter that carries the setting.
    // A delivery's JSON may also come under the type's own name, as every other setting's does.
    const json = params.string(parameterOf(type)) || params.string(type);
    if (json === undefined || json === '') throw missingParameter(parameterOf(type));
    if (type === invocationDeliverySetting && params.string('SlsDeliveryConfig'))
      throw new ApiError(
        'InvalidParameter',
        'SlsDeliveryConfig is not supported by this server; use OssDeliveryConfig.',
      );
    if (type === agentUpgradeSetting) await services.settings.modifyAgentUpgrade(regionId, json);
    else if (type === invocationDeliverySetting) await services.settings.modifyOssDelivery(regionId, json);
    else if (type === sessionManagerSetting) await services.settings.modifySessionManager(json);
    else await services.settings.modifyResourceUsage(regionId, json);
    return {};
  },
};

// Five types exist; a longer list repeats some.
const maxSettingTypes = 10;

export const describeCloudAssistantSettings: Action = {
  name: 'DescribeCloudAssistantSettings',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const types = params.list(
      'SettingType',
      maxSettingTypes,
      () => new ApiError('InvalidParameter', `At most ${maxSettingTypes} SettingType.N.`),
    );
    if (types.length === 0) throw missingParameter('SettingType.N');
    for (const type of types) checkSettingType(type, 'SettingType.N');
    const body: Record<string, unknown> = {};
    if (types.includes(agentUpgradeSetting)) {
      body.AgentUpgradeConfig = renderAgentUpgrade(await services.settings.agentUpgrade(regionId));
    }
    if (types.includes(sessionManagerSetting)) {
      const config = await services.settings.sessionManager();
      // RecordInput is this server's extension (docs/terminal-sessions.md, "Recording").
      body.SessionManagerConfig = {
        SessionManagerEnabled: config.sessionManagerEnabled,
        RecordInput: config.recordInput,
      };
    }
    if (types.includes('SessionManagerDelivery') || types.includes(invocationDeliverySetting)) {
      const oss = [];
      if (types.includes(invocationDeliverySetting)) {
        const config = await services.settings.ossDelivery(regionId);
        oss.push({
          DeliveryType: 'Invocation',
          Enabled: config.enabled,
          BucketName: config.bucketName,
          Prefix: config.prefix,
          EncryptionType: config.encryptionType,
        });
      }
      body.OssDeliveryConfigs = { OssDeliveryConfig: oss };
      body.SlsDeliveryConfigs = { SlsDeliveryConfig: [] };
    }
    if (types.includes(resourceUsageSetting)) {
      body.ResourceUsageConfig = renderResourceUsage(await services.settings.resourceUsage(regionId));
    }
    return body;
  },
};
