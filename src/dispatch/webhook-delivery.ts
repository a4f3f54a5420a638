import type { FastifyBaseLogger } from 'fastify';
import {
  eventIdHeader,
  nextAttemptAt,
  type RetryPolicy,
  signatureHeader,
  signatureOf,
} from '../domain/webhook-events.js';
import type { WebhookService } from '../service/webhooks.js';
import type { OutboxEntry, Store, Webhook } from '../store/store.js';
import { version } from '../version.js';

export interface WebhookDeliveryDeps {
  readonly store: Store;
  readonly webhooks: WebhookService;
  readonly logger: FastifyBaseLogger;
  readonly nowMs: () => number;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  /** POSTs in flight at once on this node. */
  readonly concurrency?: number;
  readonly pollMs?: number;
}

// Other nodes' new webhooks are seen this soon (this node's at once); CreateWebhook waits a bit
// longer on a cluster before it answers (clusterGateWaitMs in service/webhooks.ts).
const gateRefreshMs = 2_000;

/**
 * This node's webhook sender: it claims due outbox rows (a claim outlives one POST's timeout, so
 * no other node sends the row meanwhile), POSTs each signed, and deletes it on a 2xx or sets its
 * next attempt. At least once: a node dying after the POST and before the delete sends it again
 * once its claim runs out; receivers drop repeats by event id. Returns a stop function.
 */
export function startWebhookDelivery(deps: WebhookDeliveryDeps): () => void {
  const { store, logger, nowMs } = deps;
  const concurrency = deps.concurrency ?? 16;
  // One receiver's share: a receiver that never answers holds at most this many of the POSTs.
  const perWebhook = Math.max(1, Math.floor(concurrency / 4));
  const inFlightOf = new Map<string, number>();
  const claimMs = deps.timeoutMs + 30_000;
  let inFlight = 0;
  let any = true;
  let ticking = false;
  let stopped = false;

  async function send(entry: OutboxEntry, webhook: Webhook | undefined): Promise<void> {
    // Deleted meanwhile: its rows went with it.
    if (!webhook) return;
    let error: string;
    try {
      const atMs = nowMs();
      const response = await fetch(webhook.url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': `OpenAssist-Webhook/${version}`,
          [signatureHeader]: signatureOf(deps.webhooks.secretOf(webhook), entry.body, atMs),
          [eventIdHeader]: entry.eventId,
        },
        body: entry.body,
      });
      // The answer's body is not read beyond what closes the connection cleanly.
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) {
        await store.webhooks.delivered(entry);
        return;
      }
      error = `HTTP ${response.status}`;
    } catch (failure) {
      error = failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure);
    }
    const now = nowMs();
    const next = nextAttemptAt(deps.retry, entry.attempts + 1, entry.createdAtMs, now, Math.random());
    if (next === undefined) {
      logger.warn({ webhook: webhook.id, event: entry.eventId, error }, 'webhook delivery given up');
      await store.webhooks.failed(entry, error, now);
    } else await store.webhooks.retryLater(entry, next, error);
  }

  async function tick(): Promise<void> {
    const now = nowMs();
    if (!any || inFlight >= concurrency) return;
    const claimed = await store.webhooks.claimDue(
      now,
      now + claimMs,
      concurrency - inFlight,
      (webhookId) => perWebhook - (inFlightOf.get(webhookId) ?? 0),
    );
    if (claimed.length === 0) return;
    const hooks = new Map((await store.webhooks.list(false)).map((hook) => [hook.id, hook]));
    for (const entry of claimed) {
      const id = entry.webhookId;
      inFlight += 1;
      inFlightOf.set(id, (inFlightOf.get(id) ?? 0) + 1);
      void send(entry, hooks.get(id))
        .catch((error: unknown) => logger.warn({ err: error }, 'webhook delivery bookkeeping failed'))
        .finally(() => {
          inFlight -= 1;
          const left = (inFlightOf.get(id) ?? 1) - 1;
          if (left > 0) inFlightOf.set(id, left);
          else inFlightOf.delete(id);
        });
    }
  }

  const timer = setInterval(async () => {
    if (ticking || stopped) return;
    ticking = true;
    try {
      await tick();
    } catch (error) {
      logger.warn({ err: error }, 'webhook delivery round failed');
    } finally {
      ticking = false;
    }
  }, deps.pollMs ?? 250);
  // On a timer of its own, so a slow round of sending never delays it.
  const readGate = () =>
    store.webhooks.refreshGate().then(
      (active) => {
        any = active;
      },
      (error: unknown) => logger.warn({ err: error }, 'reading whether webhooks exist failed'),
    );
  void readGate();
  const gateTimer = setInterval(readGate, gateRefreshMs);
  timer.unref();
  gateTimer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
    clearInterval(gateTimer);
  };
}
