import {
  type AgentUpgradeConfig,
  defaultAgentUpgradeConfig,
  readAgentUpgradeConfig,
} from '../domain/agent-upgrade.js';
import {
  type OssDeliveryConfig,
  readOssDeliveryConfig,
  storedOssDeliveryConfig,
} from '../domain/output-delivery.js';
import {
  type AppliedResourceUsage,
  type ResourceUsageConfig,
  readAppliedResourceUsage,
  readResourceUsageConfig,
  storedResourceUsageConfig,
} from '../domain/resource-usage.js';
import {
  defaultSessionManagerConfig,
  readSessionManagerConfig,
  type SessionManagerConfig,
} from '../domain/terminal-session.js';
import type { Store } from '../store/store.js';

export const agentUpgradeSetting = 'AgentUpgradeConfig';
export const resourceUsageSetting = 'ResourceUsageConfig';
export const sessionManagerSetting = 'SessionManagerConfig';
export const invocationDeliverySetting = 'InvocationDelivery';
// Each node reads a region's delivery default again after this long: another node's change holds here within it.
const deliveryDefaultTtlMs = 5_000;
// The region id of settings that hold for every region.
const allRegions = '';

/** Told when a region's setting changed, so connected agents hear of it now (all nodes). */
export interface UpgradeSettingListener {
  upgradeConfigChanged(regionId: string): void;
  resourceUsageChanged(regionId: string): void;
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

  async resourceUsage(regionId: string): Promise<ResourceUsageConfig> {
    return storedUsage(await this.store.settings.get(regionId, resourceUsageSetting));
  }

  /** Every region's ResourceUsageConfig (regions never set are absent: no caps). */
  async resourceUsageByRegion(): Promise<Map<string, ResourceUsageConfig>> {
    const rows = await this.store.settings.all(resourceUsageSetting);
    return new Map([...rows].map(([regionId, text]) => [regionId, storedUsage(text)]));
  }

  /** Applies the fields of a `ResourceUsageConfig` JSON over the stored ones; stored before it answers. */
  async modifyResourceUsage(regionId: string, json: string): Promise<ResourceUsageConfig> {
    const config = readResourceUsageConfig(json, await this.resourceUsage(regionId));
    await this.store.settings.put(regionId, resourceUsageSetting, JSON.stringify(config), this.nowMs());
    this.listener.resourceUsageChanged(regionId);
    return config;
  }

  /**
   * SessionManagerConfig holds for every region (Alibaba's model: "takes effect in all regions"),
   * stored under the empty region id.
   */
  async sessionManager(): Promise<SessionManagerConfig> {
    const text = await this.store.settings.get(allRegions, sessionManagerSetting);
    return text === undefined
      ? defaultSessionManagerConfig
      : readSessionManagerConfig(text, defaultSessionManagerConfig);
  }

  /** Applies the fields of a `SessionManagerConfig` JSON over the stored ones; stored before it answers. */
  async modifySessionManager(json: string): Promise<SessionManagerConfig> {
    const config = readSessionManagerConfig(json, await this.sessionManager());
    const stored = { SessionManagerEnabled: config.sessionManagerEnabled, RecordInput: config.recordInput };
    await this.store.settings.put(allRegions, sessionManagerSetting, JSON.stringify(stored), this.nowMs());
    return config;
  }

  /** The region's `OssDeliveryConfig` (SettingType InvocationDelivery); disabled when never set. */
  async ossDelivery(regionId: string): Promise<OssDeliveryConfig> {
    return storedOssDeliveryConfig(await this.store.settings.get(regionId, invocationDeliverySetting));
  }

  /** Applies the fields of an `OssDeliveryConfig` JSON over the stored ones; stored before it answers. */
  async modifyOssDelivery(regionId: string, json: string): Promise<OssDeliveryConfig> {
    const config = readOssDeliveryConfig(json, await this.ossDelivery(regionId));
    const stored = {
      Enabled: config.enabled,
      BucketName: config.bucketName,
      Prefix: config.prefix,
      EncryptionType: config.encryptionType,
    };
    await this.store.settings.put(regionId, invocationDeliverySetting, JSON.stringify(stored), this.nowMs());
    this.deliveryDefaults.delete(regionId);
    return config;
  }

  private readonly deliveryDefaults = new Map<string, { config: OssDeliveryConfig; readAtMs: number }>();

  /** The region's delivery default for InvokeCommand, read at most every few seconds (one read less per invoke). */
  async ossDeliveryDefault(regionId: string): Promise<OssDeliveryConfig> {
    const now = this.nowMs();
    const cached = this.deliveryDefaults.get(regionId);
    if (cached && now - cached.readAtMs < deliveryDefaultTtlMs) return cached.config;
    const config = await this.ossDelivery(regionId);
    this.deliveryDefaults.set(regionId, { config, readAtMs: now });
    return config;
  }

  /** What each of these agents last reported it applied of its caps (absent: never reported). */
  async appliedResourceUsage(instanceIds: readonly string[]): Promise<Map<string, AppliedResourceUsage>> {
    const applied = new Map<string, AppliedResourceUsage>();
    for (const [id, text] of await this.store.instances.resourceUsageReports(instanceIds)) {
      const report = readAppliedResourceUsage(text);
      if (report) applied.set(id, report);
    }
    return applied;
  }
}

function storedUsage(text: string | undefined): ResourceUsageConfig {
  if (text === undefined) return {};
  try {
    return storedResourceUsageConfig(JSON.parse(text));
  } catch {
    return {};
  }
}
