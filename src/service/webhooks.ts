import { randomBytes } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import { newEventId, testEvent } from '../domain/webhook-events.js';
import type { Store, Webhook } from '../store/store.js';
import { type FleetEvent, followFleet } from './fleet-events.js';
import { resourceGroupMustExist } from './resource-group-check.js';
import type { SecretBox } from './secret-box.js';

// Each event costs one outbox row per webhook: a handful is what a fleet needs.
export const maxWebhooks = 20;

/**
 * How long CreateWebhook waits on a cluster before it answers: other nodes re-read whether any
 * webhook exists every 2 s (webhook-delivery.ts), so once it answers, every node writes events.
 */
export const clusterGateWaitMs = 2_500;

/** An absolute http(s) URL, or InvalidParameter.Url (no other scheme: file:, gopher: and kin are refused). */
export function webhookUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ApiError('InvalidParameter.Url', 'Url is not an absolute URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ApiError('InvalidParameter.Url', 'Url must be http:// or https://.');
  if (url.username || url.password)
    throw new ApiError('InvalidParameter.Url', 'Url must not carry credentials.');
  return url.toString();
}

/** Webhook subscriptions: created, listed, removed, tested. Secrets are kept sealed and shown never. */
export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly nowMs: () => number,
  ) {}

  async create(
    url: string,
    secret: string,
    resourceGroupId: string,
    tag: { readonly key: string; readonly value: string } = { key: '', value: '' },
  ): Promise<Webhook> {
    const checked = webhookUrl(url);
    if (secret.length < 16 || secret.length > 256) throw new ApiError('InvalidParameter.Secret');
    if (!tag.key && tag.value) throw new ApiError('MissingParameter', 'TagValue needs TagKey.');
    if (tag.key.length > 128 || tag.value.length > 128)
      throw new ApiError('InvalidParameter', 'TagKey and TagValue are at most 128 characters.');
    await resourceGroupMustExist(this.store, resourceGroupId);
    if ((await this.store.webhooks.list()).length >= maxWebhooks) throw new ApiError('Webhook.LimitExceeded');
    const webhook = {
      id: `wh-${randomBytes(10).toString('hex')}`,
      url: checked,
      secretSealed: this.secrets.seal(secret),
      resourceGroupId,
      tag,
      createdAtMs: this.nowMs(),
    };
    await this.store.webhooks.create(webhook);
    if (this.store.dialect === 'postgres')
      await new Promise((resolve) => setTimeout(resolve, clusterGateWaitMs));
    return { ...webhook, deliveredCount: 0, failedCount: 0, lastError: '', lastFailedAtMs: 0, pending: 0 };
  }

  list(): Promise<Webhook[]> {
    return this.store.webhooks.list();
  }

  async delete(id: string): Promise<void> {
    if (!(await this.store.webhooks.delete(id))) throw new ApiError('InvalidWebhookId.NotFound');
  }

  /** Queues a `webhook.test` event for one webhook; returns its event id. */
  async test(id: string): Promise<string> {
    if (!(await this.store.webhooks.get(id))) throw new ApiError('InvalidWebhookId.NotFound');
    const eventId = newEventId();
    const atMs = this.nowMs();
    await this.store.webhooks.enqueue(id, eventId, JSON.stringify(testEvent(eventId, id, atMs)), atMs);
    return eventId;
  }

  /** The fleet-wide live stream (StreamInvocationEvents): run status changes of a region. */
  watch(
    regionId: string,
    resourceGroupId: string | undefined,
    signal: AbortSignal,
  ): AsyncIterable<FleetEvent> {
    return followFleet(this.store, regionId, resourceGroupId, this.nowMs, signal);
  }

  /** The secret a delivery signs with. */
  secretOf(webhook: Pick<Webhook, 'secretSealed'>): string {
    return this.secrets.open(webhook.secretSealed);
  }
}
