import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { AccessKey, AccessKeyRepo, AccessKeyStatus } from '../store.js';

export function accessKeyRepo(db: Kysely<Schema>): AccessKeyRepo {
  return {
    async get(id) {
      const row = await db.selectFrom('access_keys').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) return undefined;
      return {
        id: row.id,
        secret: row.secret,
        status: row.status as AccessKeyStatus,
        description: row.description,
        createdAtMs: Number(row.created_at),
      } satisfies AccessKey;
    },
    async insert(key) {
      await db
        .insertInto('access_keys')
        .values({
          id: key.id,
          secret: key.secret,
          status: key.status,
          description: key.description,
          created_at: key.createdAtMs,
        })
        .execute();
    },
    async setStatus(id, status) {
      const result = await db
        .updateTable('access_keys')
        .set({ status })
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async count() {
      const row = await db
        .selectFrom('access_keys')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}
