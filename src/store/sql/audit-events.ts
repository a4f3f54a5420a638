import { type Kysely, sql } from 'kysely';
import type { AuditEvent } from '../../domain/audit.js';
import type { Schema } from '../schema.js';
import type { AuditEventRepo, AuditFilter, Store } from '../store.js';
import { prepared } from './prepared.js';

// SQLite: at most 128 rows per statement, 768 bound values, far below its limit.
const maxRowsPerStatement = 128;

/**
 * Rows in chunks of powers of two (13 rows: 8, 4, 1): a statement of each size compiles and is
 * prepared once, so a batch costs binding and running, not building SQL (most of its CPU otherwise).
 */
function chunks<T>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  let start = 0;
  while (start < rows.length) {
    let size = maxRowsPerStatement;
    while (size > rows.length - start) size /= 2;
    out.push(rows.slice(start, start + size));
    start += size;
  }
  return out;
}

// PostgreSQL: the record text one statement carries at most; a batch of large records is split.
export const maxStatementBodyBytes = 8 * 1024 * 1024;

/** Rows in order, in runs of at most `maxStatementBodyBytes` of body (a record over it goes alone). */
export function byBodyBytes<T extends { readonly body: string }>(rows: readonly T[]): T[][] {
  const out: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = Buffer.byteLength(row.body);
    if (part.length > 0 && bytes + size > maxStatementBodyBytes) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(row);
    bytes += size;
  }
  if (part.length > 0) out.push(part);
  return out;
}

// Rows one sweep statement deletes.
const purgeSliceRows = 5_000;

type EventRow = {
  event_time: number;
  event_name: string;
  event_rw: string;
  access_key_id: string;
  resource_ids: string;
  body: string;
};

/** An id as the resource column holds it: between spaces, so it has none of its own. */
const resourceToken = (id: string): string => id.replace(/\s/g, '_');

/** LIKE's wildcards (and the escape itself) taken literally: the filter matches one whole id. */
const likeWholeId = (id: string): string => `% ${resourceToken(id).replace(/[!%_]/g, (c) => `!${c}`)} %`;

const eventOf = (body: string): AuditEvent => JSON.parse(body) as AuditEvent;

/**
 * A whole batch in one statement on PostgreSQL, whatever its size (the rows as arrays): one text,
 * prepared once per connection, and no transaction around chunks.
 */
const insertPostgres = (db: Kysely<Schema>, rows: readonly EventRow[]) =>
  sql`insert into audit_events (event_time, event_name, event_rw, access_key_id, resource_ids, body)
    select * from unnest(${rows.map((r) => r.event_time)}::bigint[], ${rows.map((r) => r.event_name)}::text[],
      ${rows.map((r) => r.event_rw)}::text[], ${rows.map((r) => r.access_key_id)}::text[],
      ${rows.map((r) => r.resource_ids)}::text[], ${rows.map((r) => r.body)}::text[])`.execute(db);

/** The audit trail's table: appended in batches, read newest first, swept by age. No updates exist. */
export function auditEventRepo(db: Kysely<Schema>, dialect: Store['dialect']): AuditEventRepo {
  const insertEvents = prepared((on, rows: EventRow[]) => on.insertInto('audit_events').values(rows));
  return {
    async append(events) {
      if (events.length === 0) return;
      const rows = events.map(
        (event): EventRow => ({
          event_time: event.timeMs,
          event_name: event.eventName,
          event_rw: event.eventRW,
          access_key_id: event.accessKeyId,
          resource_ids: ` ${event.resourceIds.map(resourceToken).join(' ')} `,
          body: JSON.stringify(event),
        }),
      );
      const insert = dialect === 'postgres' ? insertPostgres : insertEvents;
      const parts = dialect === 'postgres' ? byBodyBytes(rows) : chunks(rows);
      if (parts.length === 1) {
        await insert(db, rows);
        return;
      }
      // All of a batch or none of it: each caller is told whether its own record is stored.
      await db.transaction().execute(async (trx) => {
        for (const part of parts) await insert(trx, part);
      });
    },

    async lookup(filter: AuditFilter, limit, afterSeq) {
      let query = db.selectFrom('audit_events').select(['seq', 'body']);
      if (filter.startMs !== undefined) query = query.where('event_time', '>=', filter.startMs);
      if (filter.endMs !== undefined) query = query.where('event_time', '<=', filter.endMs);
      if (filter.eventName) query = query.where('event_name', '=', filter.eventName);
      if (filter.accessKeyId) query = query.where('access_key_id', '=', filter.accessKeyId);
      if (filter.eventRW) query = query.where('event_rw', '=', filter.eventRW);
      if (filter.resourceId) {
        query = query.where(sql<boolean>`resource_ids LIKE ${likeWholeId(filter.resourceId)} ESCAPE '!'`);
      }
      if (afterSeq !== undefined) query = query.where('seq', '<', afterSeq);
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        events: page.map((row) => eventOf(row.body)),
        lastSeq: last === undefined ? undefined : Number(last.seq),
        more: rows.length > limit,
      };
    },

    async purgeBefore(beforeMs) {
      // In slices: one DELETE of months of records would hold SQLite's write lock, and every
      // call's record, for as long as it ran.
      let deleted = 0;
      for (;;) {
        const result = await db
          .deleteFrom('audit_events')
          .where('seq', 'in', (eb) =>
            eb
              .selectFrom('audit_events')
              .select('seq')
              .where('event_time', '<', beforeMs)
              .limit(purgeSliceRows),
          )
          .executeTakeFirst();
        const count = Number(result.numDeletedRows);
        deleted += count;
        if (count < purgeSliceRows) return deleted;
      }
    },
  };
}
