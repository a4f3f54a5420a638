import type { AgentUpgradeConfig } from '../../domain/agent-upgrade.js';
import { ApiError, missingParameter } from '../../domain/errors.js';
import { agentUpgradeSetting } from '../../service/settings.js';
import type { Action } from '../action.js';

/**
 * The setting types Alibaba's SDK names. Only AgentUpgradeConfig does anything here; Describe
 * answers the others as what they are on this server (off, nothing delivered), Modify refuses them
 * (they would promise a feature this server does not have).
 */
const settingTypes = [
  agentUpgradeSetting,
  'SessionManagerConfig',
  'SessionManagerDelivery',
  'InvocationDelivery',
  'ResourceUsageConfig',
];

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

export const modifyCloudAssistantSettings: Action = {
  name: 'ModifyCloudAssistantSettings',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = params.required('SettingType');
    checkSettingType(type, 'SettingType');
    if (type !== agentUpgradeSetting) {
      throw new ApiError(
        'InvalidParameter',
        `SettingType ${type} is not supported by this server; only ${agentUpgradeSetting} is.`,
      );
    }
    const json = params.string(agentUpgradeSetting);
    if (json === undefined || json === '') throw missingParameter(agentUpgradeSetting);
    await services.settings.modifyAgentUpgrade(regionId, json);
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
    if (types.includes('SessionManagerConfig')) body.SessionManagerConfig = { SessionManagerEnabled: false };
    if (types.includes('SessionManagerDelivery') || types.includes('InvocationDelivery')) {
      body.OssDeliveryConfigs = { OssDeliveryConfig: [] };
      body.SlsDeliveryConfigs = { SlsDeliveryConfig: [] };
    }
    // ResourceUsageConfig has no "off" value to show: this server sets no limits, and says nothing.
    return body;
  },
};
