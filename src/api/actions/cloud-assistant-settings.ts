import type { AgentUpgradeConfig } from '../../domain/agent-upgrade.js';
import { ApiError, missingParameter } from '../../domain/errors.js';
import type { ResourceUsageConfig } from '../../domain/resource-usage.js';
import { agentUpgradeSetting, resourceUsageSetting, sessionManagerSetting } from '../../service/settings.js';
import type { Action } from '../action.js';

/**
 * The setting types Alibaba's SDK names. AgentUpgradeConfig, ResourceUsageConfig and
 * SessionManagerConfig act here; Describe answers the delivery types as what they are on this
 * server (nothing delivered), Modify refuses them: storing a delivery to OSS or SLS would have
 * Describe promise what this server does not do.
 */
const settingTypes = [
  agentUpgradeSetting,
  resourceUsageSetting,
  sessionManagerSetting,
  'SessionManagerDelivery',
  'InvocationDelivery',
];
const modifiable = [agentUpgradeSetting, resourceUsageSetting, sessionManagerSetting];

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
    const json = params.string(type);
    if (json === undefined || json === '') throw missingParameter(type);
    if (type === agentUpgradeSetting) await services.settings.modifyAgentUpgrade(regionId, json);
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
    if (types.includes('SessionManagerDelivery') || types.includes('InvocationDelivery')) {
      body.OssDeliveryConfigs = { OssDeliveryConfig: [] };
      body.SlsDeliveryConfigs = { SlsDeliveryConfig: [] };
    }
    if (types.includes(resourceUsageSetting)) {
      body.ResourceUsageConfig = renderResourceUsage(await services.settings.resourceUsage(regionId));
    }
    return body;
  },
};
