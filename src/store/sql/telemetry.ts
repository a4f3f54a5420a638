import { type Kysely, type SelectQueryBuilder, sql } from 'kysely';
import { isFinal } from '../../domain/invocation-status.js';
import type { Schema } from '../schema.js';
import type { EndedRun, FleetGauges, QueryOperation, StoreTelemetry } from '../store.js';
import type { EventRecorder } from './webhooks.js';

/**
 * The store's side of the metrics: the fleet's figures read at scrape time, statement timings, and
 * the runs that end. Nothing here runs on a request's path unless the server measures (`onQuery`).
 */

// Counts stop here: a backlog past a million rows is an alarm already, and the scan stays bounded.
export const countCap = 1_000_000;

// What a counted query selects: nothing but a constant.
const one = sql<number>`1`.as('one');

/** `count(*)` of a query's rows (`rows` selects `one`, limited to `countCap`): no scan beyond the cap. */
async function cappedCount(
  db: Kysely<Schema>,
  // biome-ignore lint/suspicious/noExplicitAny: any table of the schema; only `one` is read.
  rows: SelectQueryBuilder<Schema, any, { one: number }>,
): Promise<number> {
  const counted = await db
    .selectFrom(rows.as('capped'))
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirst();
  return Number(counted?.n ?? 0);
}

/** The figures every gauge of one scrape reads: one grouped pass over online instances, three counts. */
export function storeTelemetry(
  db: Kysely<Schema>,
  own: Pick<StoreTelemetry, 'pool' | 'walBytes'>,
): StoreTelemetry {
  return {
    ...own,
    async fleet(onlineSinceMs) {
      const groups = await db
        .selectFrom('instances')
        .select((eb) => [
          'agent_version',
          eb.fn.countAll().as('n'),
          eb.fn.sum<number>('journal_bytes').as('journal_sum'),
          eb.fn.max('journal_bytes').as('journal_max'),
          eb.fn.sum<number>('pending_events').as('pending_sum'),
          eb.fn.max('pending_events').as('pending_max'),
          eb.fn.min('last_heartbeat_at').as('oldest'),
          eb.fn.sum<number>('resource_capped').as('capped'),
        ])
        .where('connected', '=', 1)
        .where('last_heartbeat_at', '>=', onlineSinceMs)
        .groupBy('agent_version')
        .execute();
      const sum = (pick: (row: (typeof groups)[number]) => unknown) =>
        groups.reduce((total, row) => total + Number(pick(row) ?? 0), 0);
      const max = (pick: (row: (typeof groups)[number]) => unknown) =>
        groups.reduce((most, row) => Math.max(most, Number(pick(row) ?? 0)), 0);
      const oldest = groups.reduce(
        (least, row) => Math.min(least, Number(row.oldest ?? Number.POSITIVE_INFINITY)),
        Number.POSITIVE_INFINITY,
      );
      const fleet: FleetGauges = {
        online: sum((row) => row.n),
        versions: groups.map((row) => ({ version: row.agent_version, count: Number(row.n) })),
        pendingTasks: await cappedCount(
          db,
          db
            .selectFrom('invocation_instances')
            .select(one)
            .where('status', '=', 'Pending')
            .where('delivered', '=', 0)
            .where('held', '=', 0)
            .limit(countCap),
        ),
        webhookBacklog: await cappedCount(db, db.selectFrom('webhook_outbox').select(one).limit(countCap)),
        outputUploadBacklog: await cappedCount(
          db,
          db
            .selectFrom('output_deliveries')
            .select(one)
            .where('status', 'in', ['Pending', 'Uploading'])
            .limit(countCap),
        ),
        journalBytesSum: sum((row) => row.journal_sum),
        journalBytesMax: max((row) => row.journal_max),
        pendingEventsSum: sum((row) => row.pending_sum),
        pendingEventsMax: max((row) => row.pending_max),
        oldestHeartbeatAtMs: Number.isFinite(oldest) ? oldest : 0,
        resourceCapped: sum((row) => row.capped),
      };
      return fleet;
    },
  };
}

const readWords = new Set(['select', 'with', 'pragma', 'explain', 'show', 'values']);
const transactionWords = new Set(['begin', 'commit', 'rollback', 'savepoint', 'release', 'start', 'end']);

/** What a statement does, by its first word (a WITH by what it runs): a read, a write, or transaction control. */
export function operationOfSql(text: string): QueryOperation {
  const word = /^\s*\(?\s*([a-z]+)/i.exec(text)?.[1]?.toLowerCase() ?? '';
  if (transactionWords.has(word)) return 'transaction';
  // A WITH that inserts, updates or deletes (InvokeCommand's rows, a burst's chunks) writes.
  if (word === 'with' && /\b(insert|update|delete)\b/i.test(text)) return 'write';
  return readWords.has(word) ? 'read' : 'write';
}

/**
 * The webhooks' recorder, also telling `listeners` of every run that reaches a final status: the
 * recorder sees every change of a run's status, on every path, in the transaction that makes it.
 */
export function withRunEnds(
  recorder: EventRecorder,
  listeners: ReadonlySet<(run: EndedRun) => void>,
): EventRecorder {
  return {
    async runChanged(trx, run, atMs) {
      if (listeners.size > 0 && isFinal(run.status)) for (const listener of listeners) listener(run);
      await recorder.runChanged(trx, run, atMs);
    },
    invocationChanged: (trx, invokeId, status, atMs) =>
      recorder.invocationChanged(trx, invokeId, status, atMs),
  };
}
