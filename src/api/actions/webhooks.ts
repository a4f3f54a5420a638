import type { Webhook } from '../../store/store.js';
import type { Action, StreamingAction } from '../action.js';
import { isoTime } from '../wire.js';

/**
 * Webhooks, OpenAssist's extension (docs/webhooks.md): URLs that receive a signed POST for every
 * invocation status change and every run's end. The secret goes in once and never comes back.
 */

const renderWebhook = (webhook: Webhook) => ({
  WebhookId: webhook.id,
  Url: webhook.url,
  ResourceGroupId: webhook.resourceGroupId,
  TagKey: webhook.tag.key,
  TagValue: webhook.tag.value,
  CreationTime: isoTime(webhook.createdAtMs),
  DeliveredCount: webhook.deliveredCount,
  PendingCount: webhook.pending,
  FailedCount: webhook.failedCount,
  LastError: webhook.lastError,
  LastFailedTime: webhook.lastFailedAtMs > 0 ? isoTime(webhook.lastFailedAtMs) : '',
});

export const createWebhook: Action = {
  name: 'CreateWebhook',
  regionRequired: false,
  async handle({ params, services }) {
    const webhook = await services.webhooks.create(
      params.required('Url'),
      params.required('Secret'),
      params.string('ResourceGroupId') ?? '',
      { key: params.string('TagKey') ?? '', value: params.string('TagValue') ?? '' },
    );
    return { Webhook: renderWebhook(webhook) };
  },
};

export const describeWebhooks: Action = {
  name: 'DescribeWebhooks',
  regionRequired: false,
  async handle({ params, services }) {
    const id = params.string('WebhookId');
    const hooks = (await services.webhooks.list()).filter((hook) => !id || hook.id === id);
    return { TotalCount: hooks.length, Webhooks: { Webhook: hooks.map(renderWebhook) } };
  },
};

export const deleteWebhook: Action = {
  name: 'DeleteWebhook',
  regionRequired: false,
  async handle({ params, services }) {
    await services.webhooks.delete(params.required('WebhookId'));
    return {};
  },
};

export const testWebhook: Action = {
  name: 'TestWebhook',
  regionRequired: false,
  async handle({ params, services }) {
    return { EventId: await services.webhooks.test(params.required('WebhookId')) };
  },
};

/**
 * The fleet-wide sibling of StreamInvocationOutput: every run status change of the region (of the
 * key's group, for a scoped key, or of `ResourceGroupId`) as Server-Sent Events named `run`.
 */
export const streamInvocationEvents: StreamingAction = {
  name: 'StreamInvocationEvents',
  regionRequired: true,
  async stream({ params, regionId, services }, signal) {
    const events = services.webhooks.watch(regionId, params.string('ResourceGroupId') || undefined, signal);
    return (async function* () {
      for await (const event of events) yield { event: 'run', data: JSON.stringify(event) };
    })();
  },
};

export const webhookActions: readonly Action[] = [
  createWebhook,
  describeWebhooks,
  deleteWebhook,
  testWebhook,
  streamInvocationEvents,
];
