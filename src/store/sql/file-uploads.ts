import { type Kysely, type Selectable, sql } from 'kysely';
import type { FileUpload, FileUploadState } from '../../domain/file-upload.js';
import { endedInvocationStatuses } from '../../domain/invocation-status.js';
import type { FileUploadTable, Schema } from '../schema.js';
import type { FileUploadRepo, Store } from '../store.js';
import { oneOf } from './columns.js';

const stateOf = oneOf<FileUploadState>(['Uploading', 'Complete'], 'file_uploads.state');

function toUpload(row: Selectable<FileUploadTable>): FileUpload {
  return {
    id: row.id,
    regionId: row.region_id,
    owner: row.owner,
    sizeBytes: row.size_bytes,
    sha256: row.sha256,
    receivedBytes: row.received_bytes,
    state: stateOf(row.state),
    invokeId: row.invoke_id,
    createdAtMs: row.created_at,
  };
}

export function fileUploadRepo(db: Kysely<Schema>, dialect: Store['dialect']): FileUploadRepo {
  const find = (executor: Kysely<Schema>, id: string) =>
    executor.selectFrom('file_uploads').selectAll().where('id', '=', id).executeTakeFirst();

  // A file's pages would fill SQLite's page cache (64 MiB) with bytes nobody reads again: let them go
  // after each chunk written or read, so a transfer leaves the cache to the rows queries use.
  const releaseCache = async () => {
    if (dialect === 'sqlite') await sql`PRAGMA shrink_memory`.execute(db);
  };

  /** One chunk: the one holding `offset` (`first`), else the next one after `offset`. */
  const chunkAt = async (id: string, offset: number, first: boolean) => {
    const chunk = await db
      .selectFrom('file_upload_chunks')
      .select(['byte_offset', 'data'])
      .where('upload_id', '=', id)
      .where('byte_offset', first ? '<=' : '>', offset)
      .orderBy('byte_offset', first ? 'desc' : 'asc')
      .limit(1)
      .executeTakeFirst();
    await releaseCache();
    return chunk;
  };

  return {
    async create(upload, maxUnused) {
      return db.transaction().execute(async (trx) => {
        // PostgreSQL: a lock per owner serializes its creations, so racing ones cannot pass the
        // bound together (SQLite's transactions are serial already).
        if (dialect === 'postgres') {
          await sql`SELECT pg_advisory_xact_lock(hashtext(${`file-uploads:${upload.owner}`}))`.execute(trx);
        }
        const { unused } = await trx
          .selectFrom('file_uploads')
          .select((eb) => eb.fn.countAll<number | string>().as('unused'))
          .where('owner', '=', upload.owner)
          .where('invoke_id', '=', '')
          .executeTakeFirstOrThrow();
        if (Number(unused) >= maxUnused) return false;
        await trx
          .insertInto('file_uploads')
          .values({
            id: upload.id,
            region_id: upload.regionId,
            owner: upload.owner,
            size_bytes: upload.sizeBytes,
            sha256: upload.sha256,
            received_bytes: upload.receivedBytes,
            state: upload.state,
            invoke_id: upload.invokeId,
            created_at: upload.createdAtMs,
          })
          .execute();
        return true;
      });
    },

    async get(id) {
      const row = await find(db, id);
      return row && toUpload(row);
    },

    async append(id, offset, data) {
      const result = await db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('file_uploads')
          .set((eb) => ({ received_bytes: eb('received_bytes', '+', data.length) }))
          .where('id', '=', id)
          .where('received_bytes', '=', offset)
          .where('state', '=', 'Uploading')
          .executeTakeFirst();
        const appended = Number(moved.numUpdatedRows) > 0;
        if (appended) {
          await trx
            .insertInto('file_upload_chunks')
            .values({ upload_id: id, byte_offset: offset, data })
            .execute();
        }
        const row = await find(trx, id);
        return row && { upload: toUpload(row), appended };
      });
      await releaseCache();
      return result;
    },

    async *read(id, offset) {
      let chunk = await chunkAt(id, offset, true);
      if (chunk && offset > chunk.byte_offset) {
        const skip = offset - chunk.byte_offset;
        if (skip < chunk.data.length) yield chunk.data.subarray(skip);
      } else if (chunk) {
        yield chunk.data;
      }
      let last = chunk?.byte_offset ?? offset;
      for (;;) {
        chunk = await chunkAt(id, last, false);
        if (!chunk) return;
        last = chunk.byte_offset;
        yield chunk.data;
      }
    },

    async complete(id) {
      await db
        .updateTable('file_uploads')
        .set({ state: 'Complete' })
        .where('id', '=', id)
        .whereRef('received_bytes', '=', 'size_bytes')
        .execute();
    },

    async restart(id) {
      await db.transaction().execute(async (trx) => {
        await trx.deleteFrom('file_upload_chunks').where('upload_id', '=', id).execute();
        await trx
          .updateTable('file_uploads')
          .set({ received_bytes: 0, state: 'Uploading' })
          .where('id', '=', id)
          .execute();
      });
    },

    async use(id, invokeId) {
      const result = await db
        .updateTable('file_uploads')
        .set({ invoke_id: invokeId })
        .where('id', '=', id)
        .where('state', '=', 'Complete')
        .where('invoke_id', '=', '')
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async release(id, invokeId) {
      await db
        .updateTable('file_uploads')
        .set({ invoke_id: '' })
        .where('id', '=', id)
        .where('invoke_id', '=', invokeId)
        .execute();
    },

    async ofInvocation(invokeId) {
      const row = await db
        .selectFrom('file_uploads')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .executeTakeFirst();
      return row && toUpload(row);
    },

    async purge(unusedBeforeMs, limit) {
      return db.transaction().execute(async (trx) => {
        const gone = await trx
          .selectFrom('file_uploads')
          .select('file_uploads.id')
          .where(({ or, and, eb, not, exists, selectFrom }) => {
            const invocation = selectFrom('invocations')
              .select('invocations.id')
              .whereRef('invocations.id', '=', 'file_uploads.invoke_id');
            const expired = eb('created_at', '<', unusedBeforeMs);
            return or([
              and([eb('invoke_id', '=', ''), expired]),
              // Its invocation ended: every agent has the file or has given up on it.
              and([
                eb('invoke_id', '<>', ''),
                exists(invocation.where('invocations.invocation_status', 'in', endedInvocationStatuses)),
              ]),
              // Its invocation is gone (or was never created: a SendFile binds the upload first).
              and([eb('invoke_id', '<>', ''), expired, not(exists(invocation))]),
            ]);
          })
          .limit(limit)
          .execute();
        const ids = gone.map((row) => row.id);
        if (ids.length === 0) return 0;
        await trx.deleteFrom('file_upload_chunks').where('upload_id', 'in', ids).execute();
        await trx.deleteFrom('file_uploads').where('id', 'in', ids).execute();
        return ids.length;
      });
    },
  };
}
