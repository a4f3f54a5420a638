import type { FastifyBaseLogger } from 'fastify';
import {
  type AgentRelease,
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
 * hello, when their region's setting changes, and every `offerIntervalMs`. The settings are read
 * once per pass (a changed setting starts a pass on every node) and kept for the hellos between
 * passes, so a hello costs no query; the executable is looked up once per architecture per pass.
 */
export class UpgradeOffers {
  /** Every region's setting as of the last pass (a region absent has the defaults: off). */
  private configs: Promise<Map<string, AgentUpgradeConfig>> | undefined;

  constructor(
    private readonly settings: SettingService,
    private readonly releases: AgentReleases,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Offers to one agent that just said hello. */
  async offerOnHello(target: OfferTarget): Promise<void> {
    this.configs ??= this.readConfigs();
    const config = (await this.configs).get(target.regionId);
    if (!config?.enabled || target.self.arch === undefined) return;
    await this.offer(target, config, await this.releases.forArch(target.self.arch), 'hello');
  }

  /** Offers to every target (of `regionId` only, when given): the periodic pass, or a changed setting. */
  async offerAll(targets: readonly OfferTarget[], trigger: OfferTrigger, regionId?: string): Promise<void> {
    this.configs = this.readConfigs();
    const configs = await this.configs;
    const releases = new Map<string, Promise<AgentRelease | undefined>>();
    for (const target of targets) {
      const { arch } = target.self;
      if (regionId !== undefined && target.regionId !== regionId) continue;
      const config = configs.get(target.regionId);
      if (!config?.enabled || arch === undefined) continue;
      if (!releases.has(arch)) releases.set(arch, this.releases.forArch(arch));
      await this.offer(target, config, await releases.get(arch), trigger);
    }
  }

  /** One query; a failed one is not kept, so the next hello or pass asks again. */
  private readConfigs(): Promise<Map<string, AgentUpgradeConfig>> {
    const read = this.settings.agentUpgradeByRegion();
    read.catch(() => {
      if (this.configs === read) this.configs = undefined;
    });
    return read;
  }

  private offer(
    target: OfferTarget,
    config: AgentUpgradeConfig,
    release: AgentRelease | undefined,
    trigger: OfferTrigger,
  ): void {
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
