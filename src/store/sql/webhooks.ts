import { type Kysely, sql } from 'kysely';
import type { InvocationInstance } from '../../domain/invocation.js';
import { isFinal } from '../../domain/invocation-status.js';
import {
  type EventInvocation,
  invocationStatusEvent,
  newEventId,
  runFinishedEvent,
} from '../../domain/webhook-events.js';
import type { Schema } from '../schema.js';
import type { OutboxEntry, WebhookRepo } from '../store.js';

/**
 * Whether any webhook exists, as this node last saw it: state changes write events only then, so
 * without webhooks the hot path costs one boolean read. Set at once on this node's changes and
 * re-read on a timer for other nodes' (`refreshGate`).
 */
export interface WebhookGate {
  active: boolean;
}

/** Writes events into the outbox, inside the transaction that made the change. */
export interface EventRecorder {
  runChanged(trx: Kysely<Schema>, run: InvocationInstance, atMs: number): Promise<void>;
  invocationChanged(trx: Kysely<Schema>, invokeId: string, status: string, atMs: number): Promise<void>;
}

async function invocationOf(trx: Kysely<Schema>, invokeId: string): Promise<EventInvocation | undefined> {
  const row = await trx
    .selectFrom('invocations')
    .select(['region_id', 'resource_group_id', 'command_id'])
    .where('id', '=', invokeId)
    .executeTakeFirst();
  return (
    row && {
      invokeId,
      regionId: row.region_id,
      resourceGroupId: row.resource_group_id,
      commandId: row.command_id,
    }
  );
}

/** One outbox row per webhook that takes the invocation's events (its group, its tags), in one statement. */
async function fanOut(
  trx: Kysely<Schema>,
  eventId: string,
  invocation: EventInvocation,
  body: string,
  atMs: number,
): Promise<void> {
  await trx
    .insertInto('webhook_outbox')
    .columns(['event_id', 'webhook_id', 'body', 'created_at', 'next_attempt_at'])
    .expression(
      trx
        .selectFrom('webhooks')
        .select([
          sql<string>`CAST(${eventId} AS TEXT)`.as('event_id'),
          'id',
          sql<string>`CAST(${body} AS TEXT)`.as('body'),
          sql<number>`CAST(${atMs} AS BIGINT)`.as('created_at'),
          sql<number>`CAST(${atMs} AS BIGINT)`.as('next_attempt_at'),
        ])
        .where((eb) =>
          eb.or([
            eb('webhooks.resource_group_id', '=', ''),
            eb('webhooks.resource_group_id', '=', invocation.resourceGroupId),
          ]),
        )
        .where((eb) =>
          eb.or([
            eb('webhooks.tag_key', '=', ''),
            eb.exists(
              eb
                .selectFrom('tags')
                .select('tags.tag_key')
                .whereRef('tags.tag_key', '=', 'webhooks.tag_key')
                .where((t) =>
                  t.or([
                    t('webhooks.tag_value', '=', ''),
                    t('tags.tag_value', '=', t.ref('webhooks.tag_value')),
                  ]),
                )
                .where((t) =>
                  t.or([
                    t.and([
                      t('tags.resource_type', '=', 'invocation'),
                      t('tags.resource_id', '=', invocation.invokeId),
                    ]),
                    t.and([
                      t('tags.resource_type', '=', 'command'),
                      t('tags.resource_id', '=', invocation.commandId),
                    ]),
                  ]),
                ),
            ),
          ]),
        ),
    )
    .execute();
}

export function eventRecorder(gate: WebhookGate): EventRecorder {
  return {
    async runChanged(trx, run, atMs) {
      if (!gate.active || !isFinal(run.status)) return;
      const invocation = await invocationOf(trx, run.invokeId);
      if (!invocation) return;
      const eventId = newEventId();
      const body = JSON.stringify(runFinishedEvent(eventId, invocation, run, atMs));
      await fanOut(trx, eventId, invocation, body, atMs);
    },
    async invocationChanged(trx, invokeId, status, atMs) {
      if (!gate.active) return;
      const invocation = await invocationOf(trx, invokeId);
      if (!invocation) return;
      const eventId = newEventId();
      const body = JSON.stringify(invocationStatusEvent(eventId, invocation, status, atMs));
      await fanOut(trx, eventId, invocation, body, atMs);
    },
  };
}

const toEntry = (row: {
  seq: number;
  event_id: string;
  webhook_id: string;
  body: string;
  created_at: number;
  attempts: number;
}): OutboxEntry => ({
  seq: Number(row.seq),
  eventId: row.event_id,
  webhookId: row.webhook_id,
  body: row.body,
  createdAtMs: Number(row.created_at),
  attempts: Number(row.attempts),
});

export function webhookRepo(db: Kysely<Schema>, gate: WebhookGate): WebhookRepo {
  const pendingCounts = db
    .selectFrom('webhook_outbox')
    .select(['webhook_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('webhook_id');
  const repo: WebhookRepo = {
    async create(webhook) {
      await db
        .insertInto('webhooks')
        .values({
          id: webhook.id,
          url: webhook.url,
          secret_sealed: webhook.secretSealed,
          resource_group_id: webhook.resourceGroupId,
          tag_key: webhook.tag.key,
          tag_value: webhook.tag.value,
          created_at: webhook.createdAtMs,
        })
        .execute();
      gate.active = true;
    },
    async list(withPending = true) {
      const [rows, pending] = await Promise.all([
        db.selectFrom('webhooks').selectAll().orderBy('seq').execute(),
        withPending ? pendingCounts.execute() : [],
      ]);
      const counts = new Map(pending.map((row) => [row.webhook_id, Number(row.n)]));
      return rows.map((row) => ({
        id: row.id,
        url: row.url,
        secretSealed: row.secret_sealed,
        resourceGroupId: row.resource_group_id,
        tag: { key: row.tag_key, value: row.tag_value },
        createdAtMs: Number(row.created_at),
        deliveredCount: Number(row.delivered_count),
        failedCount: Number(row.failed_count),
        lastError: row.last_error,
        lastFailedAtMs: Number(row.last_failed_at),
        pending: counts.get(row.id) ?? 0,
      }));
    },
    async get(id) {
      return (await repo.list()).find((webhook) => webhook.id === id);
    },
    async delete(id) {
      const removed = await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_outbox').where('webhook_id', '=', id).execute();
        const result = await trx.deleteFrom('webhooks').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0;
      });
      await repo.refreshGate();
      return removed;
    },
    async enqueue(webhookId, eventId, body, atMs) {
      await db
        .insertInto('webhook_outbox')
        .values({ event_id: eventId, webhook_id: webhookId, body, created_at: atMs, next_attempt_at: atMs })
        .execute();
    },
    async claimDue(nowMs, claimedUntilMs, limit, room = () => limit) {
      // Read past a webhook that has no room: a dead receiver's backlog must not hold the others'.
      const due = await db
        .selectFrom('webhook_outbox')
        .selectAll()
        .where('next_attempt_at', '<=', nowMs)
        .where('claimed_until', '<=', nowMs)
        .orderBy('next_attempt_at')
        .orderBy('seq')
        .limit(limit * 8)
        .execute();
      const claimed: OutboxEntry[] = [];
      const taken = new Map<string, number>();
      for (const row of due) {
        if (claimed.length >= limit) break;
        const count = taken.get(row.webhook_id) ?? 0;
        if (count >= room(row.webhook_id)) continue;
        // Taken only if nobody took it since the read.
        const result = await db
          .updateTable('webhook_outbox')
          .set({ claimed_until: claimedUntilMs })
          .where('seq', '=', row.seq)
          .where('claimed_until', '=', row.claimed_until)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) {
          claimed.push(toEntry(row));
          taken.set(row.webhook_id, count + 1);
        }
      }
      return claimed;
    },
    async delivered(entry) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_outbox').where('seq', '=', entry.seq).execute();
        await trx
          .updateTable('webhooks')
          .set((eb) => ({ delivered_count: eb('delivered_count', '+', 1) }))
          .where('id', '=', entry.webhookId)
          .execute();
      });
    },
    async retryLater(entry, nextAttemptAtMs, error) {
      await db
        .updateTable('webhook_outbox')
        .set({
          attempts: entry.attempts + 1,
          next_attempt_at: nextAttemptAtMs,
          claimed_until: 0,
          last_error: error.slice(0, 500),
        })
        .where('seq', '=', entry.seq)
        .execute();
    },
    async failed(entry, error, atMs) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('webhook_outbox').where('seq', '=', entry.seq).execute();
        await trx
          .updateTable('webhooks')
          .set((eb) => ({
            failed_count: eb('failed_count', '+', 1),
            last_error: error.slice(0, 500),
            last_failed_at: atMs,
          }))
          .where('id', '=', entry.webhookId)
          .execute();
      });
    },
    async refreshGate() {
      const any = await db.selectFrom('webhooks').select('id').limit(1).executeTakeFirst();
      gate.active = any !== undefined;
      return gate.active;
    },
  };
  return repo;
}
