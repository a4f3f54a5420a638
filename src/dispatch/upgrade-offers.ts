import type { FastifyBaseLogger } from 'fastify';
import {
  type AgentSelf,
  type AgentUpgradeConfig,
  type OfferTrigger,
  shouldOfferUpgrade,
} from '../domain/agent-upgrade.js';
import type { UpgradeOffer } from '../protocol/messages.js';
import { type AgentReleases, agentDownloadPath } from '../service/agent-releases.js';
import type { SettingService } from '../service/settings.js';

/** How often every connected agent is checked against its region's setting and the server's executable. */
export const offerIntervalMs = 30_000;

/** A connected agent as the offers see it. */
export interface OfferTarget {
  readonly regionId: string;
  readonly self: AgentSelf;
  send(offer: UpgradeOffer): void;
}

/**
 * Decides which connected agents are offered the server's executable and sends them the offer
 * (one small frame each; the agent ignores an offer it is already acting on). Agents are asked on
 * hello, when their region's setting changes, and every `offerIntervalMs`: one settings query and
 * two `stat` calls per architecture per pass, whatever the fleet's size.
 */
export class UpgradeOffers {
  constructor(
    private readonly settings: SettingService,
    private readonly releases: AgentReleases,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Offers to one agent that just said hello. */
  async offerOnHello(target: OfferTarget): Promise<void> {
    const config = await this.settings.agentUpgrade(target.regionId);
    await this.offer(target, config, 'hello');
  }

  /** Offers to every target (of `regionId` only, when given): the periodic pass, or a changed setting. */
  async offerAll(targets: readonly OfferTarget[], trigger: OfferTrigger, regionId?: string): Promise<void> {
    const configs = await this.settings.agentUpgradeByRegion();
    for (const target of targets) {
      if (regionId !== undefined && target.regionId !== regionId) continue;
      const config = configs.get(target.regionId);
      if (config?.enabled) await this.offer(target, config, trigger);
    }
  }

  private async offer(target: OfferTarget, config: AgentUpgradeConfig, trigger: OfferTrigger): Promise<void> {
    if (!config.enabled || target.self.arch === undefined) return;
    const release = await this.releases.forArch(target.self.arch);
    if (!shouldOfferUpgrade(config, target.self, release, trigger)) return;
    if (trigger !== 'periodic') {
      this.logger.info(
        { agentVersion: target.self.version, offered: release.version, trigger },
        'offering the agent an upgrade',
      );
    }
    target.send({
      type: 'upgrade',
      version: release.version,
      path: agentDownloadPath(release.file),
      sha256: release.sha256,
      sizeBytes: release.sizeBytes,
      windows: config.allowedUpgradeWindows,
      timeZone: config.timeZone,
    });
  }
}
