import type { Kysely } from 'kysely';
import type { AuditEvent } from '../../domain/audit.js';
import type { Schema } from '../schema.js';
import type { AuditEventRepo, AuditFilter } from '../store.js';

// Bound values per statement stay far below both databases' limits (SQLite 32766, PostgreSQL 65535).
const maxRowsPerStatement = 2_000;

function chunks<T>(rows: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < rows.length; start += size) out.push(rows.slice(start, start + size));
  return out;
}

/** The stored body: the record without what has a column of its own. */
const bodyOf = (event: AuditEvent): string => JSON.stringify(event);

function eventOf(body: string): AuditEvent {
  return JSON.parse(body) as AuditEvent;
}

/** The audit trail's table: appended in batches, read newest first, swept by age. No updates exist. */
export function auditEventRepo(db: Kysely<Schema>): AuditEventRepo {
  return {
    async append(events) {
      if (events.length === 0) return;
      const rows = events.map((event) => ({
        event_id: event.eventId,
        event_time: event.timeMs,
        event_name: event.eventName,
        event_rw: event.eventRW,
        access_key_id: event.accessKeyId,
        body: bodyOf(event),
      }));
      const resources = events.flatMap((event) =>
        event.resourceIds.map((id) => ({
          resource_id: id,
          event_id: event.eventId,
          event_time: event.timeMs,
        })),
      );
      await db.transaction().execute(async (trx) => {
        for (const part of chunks(rows, maxRowsPerStatement / 6)) {
          await trx.insertInto('audit_events').values(part).execute();
        }
        for (const part of chunks(resources, maxRowsPerStatement / 3)) {
          await trx.insertInto('audit_event_resources').values(part).execute();
        }
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
        const resourceId = filter.resourceId;
        query = query.where('event_id', 'in', (eb) =>
          eb.selectFrom('audit_event_resources').select('event_id').where('resource_id', '=', resourceId),
        );
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
      return db.transaction().execute(async (trx) => {
        await trx.deleteFrom('audit_event_resources').where('event_time', '<', beforeMs).execute();
        const result = await trx
          .deleteFrom('audit_events')
          .where('event_time', '<', beforeMs)
          .executeTakeFirst();
        return Number(result.numDeletedRows);
      });
    },
  };
}
