import type { FastifyBaseLogger } from 'fastify';
import { type ResourceUsageConfig, resourceCapsOf } from '../domain/resource-usage.js';
import type { ResourceCaps } from '../protocol/messages.js';
import type { SettingService } from '../service/settings.js';

/**
 * The resource caps (ResourceUsageConfig) each region's agents are told: in the welcome, and in a
 * `resource-caps` order when the setting changes. Every region's setting is read once and kept
 * until a change (on any node) reads it again, so a hello costs no query.
 */
export class ResourceCapsSource {
  private configs: Promise<Map<string, ResourceUsageConfig>> | undefined;

  constructor(
    private readonly settings: Pick<SettingService, 'resourceUsageByRegion'>,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /**
   * The caps of a region (`{}`: none, as for a region never set); undefined when the setting could
   * not be read, so the agent keeps what it applied rather than lifting it.
   */
  async forRegion(regionId: string): Promise<ResourceCaps | undefined> {
    this.configs ??= this.read();
    try {
      const config = (await this.configs).get(regionId);
      return config ? resourceCapsOf(config) : {};
    } catch (error) {
      this.logger.warn({ err: error }, 'reading the resource caps failed');
      return undefined;
    }
  }

  /** A region's setting changed (or a periodic pass): the next caps asked for read every region again. */
  changed(): void {
    this.configs = undefined;
  }

  /** One query; a failed one is not kept, so the next hello asks again. */
  private read(): Promise<Map<string, ResourceUsageConfig>> {
    const read = this.settings.resourceUsageByRegion();
    read.catch(() => {
      if (this.configs === read) this.configs = undefined;
    });
    return read;
  }
}
