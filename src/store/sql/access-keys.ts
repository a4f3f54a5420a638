import type { Kysely, Selectable } from 'kysely';
import type { Schema } from '../schema.js';
import type { AccessKey, AccessKeyRepo, AccessKeyStatus } from '../store.js';
import { oneOf } from './columns.js';
import { prepared } from './prepared.js';

const accessKeyStatus = oneOf<AccessKeyStatus>(['Active', 'Inactive'], 'access_keys.status');

const toKey = (row: Selectable<Schema['access_keys']>): AccessKey => ({
  id: row.id,
  secret: row.secret,
  status: accessKeyStatus(row.status),
  description: row.description,
  createdAtMs: Number(row.created_at),
  ...(row.policy && { policy: row.policy }),
  ...(row.resource_group_id && { resourceGroupId: row.resource_group_id }),
});

export function accessKeyRepo(db: Kysely<Schema>): AccessKeyRepo {
  // Read by every signed request.
  const byId = prepared((db, id: string) => db.selectFrom('access_keys').selectAll().where('id', '=', id));
  return {
    async get(id) {
      const [row] = (await byId(db, id)).rows;
      return row && toKey(row);
    },
    async list() {
      const rows = await db
        .selectFrom('access_keys')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toKey);
    },
    async delete(id) {
      const result = await db.deleteFrom('access_keys').where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
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
          policy: key.policy ?? '',
          resource_group_id: key.resourceGroupId ?? '',
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
