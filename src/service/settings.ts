import {
  type AgentUpgradeConfig,
  defaultAgentUpgradeConfig,
  readAgentUpgradeConfig,
} from '../domain/agent-upgrade.js';
import type { Store } from '../store/store.js';

export const agentUpgradeSetting = 'AgentUpgradeConfig';

/** Told when a region's upgrade setting changed, so connected agents hear of it now (all nodes). */
export interface UpgradeSettingListener {
  upgradeConfigChanged(regionId: string): void;
}

/** Reads a stored value over the defaults: a row written by another version still reads. */
function storedConfig(text: string | undefined): AgentUpgradeConfig {
  if (text === undefined) return defaultAgentUpgradeConfig;
  try {
    // Written by this service (readAgentUpgradeConfig's result), so its fields have their types.
    const value = JSON.parse(text) as Partial<AgentUpgradeConfig>;
    return { ...defaultAgentUpgradeConfig, ...value };
  } catch {
    return defaultAgentUpgradeConfig;
  }
}

/** Cloud Assistant settings per region (Modify/DescribeCloudAssistantSettings). */
export class SettingService {
  constructor(
    private readonly store: Store,
    private readonly listener: UpgradeSettingListener,
    private readonly nowMs: () => number,
  ) {}

  async agentUpgrade(regionId: string): Promise<AgentUpgradeConfig> {
    return storedConfig(await this.store.settings.get(regionId, agentUpgradeSetting));
  }

  /** Every region's upgrade setting (regions never set are absent: they have the defaults). */
  async agentUpgradeByRegion(): Promise<Map<string, AgentUpgradeConfig>> {
    const rows = await this.store.settings.all(agentUpgradeSetting);
    return new Map([...rows].map(([regionId, text]) => [regionId, storedConfig(text)]));
  }

  /** Applies the fields of an `AgentUpgradeConfig` JSON over the stored ones; stored before it answers. */
  async modifyAgentUpgrade(regionId: string, json: string): Promise<AgentUpgradeConfig> {
    const config = readAgentUpgradeConfig(json, await this.agentUpgrade(regionId));
    await this.store.settings.put(regionId, agentUpgradeSetting, JSON.stringify(config), this.nowMs());
    this.listener.upgradeConfigChanged(regionId);
    return config;
  }
}
