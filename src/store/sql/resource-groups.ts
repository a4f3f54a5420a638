import { type Kysely, type Selectable, sql } from 'kysely';
import type { ResourceGroupTable, Schema } from '../schema.js';
import type { ResourceGroup, ResourceGroupRepo } from '../store.js';
import { escapeLike, paginate } from './paging.js';

const toGroup = (row: Selectable<ResourceGroupTable>): ResourceGroup => ({
  seq: Number(row.seq),
  id: row.id,
  name: row.name,
  displayName: row.display_name,
  createdAtMs: Number(row.created_at),
});

// The tables whose rows carry a resource_group_id.
const members = ['commands', 'invocations', 'instances', 'activations'] as const;
const tables = {
  command: 'commands',
  invocation: 'invocations',
  instance: 'instances',
  activation: 'activations',
} as const;

const contains = (column: string, text: string) =>
  sql<boolean>`${sql.ref(column)} LIKE ${`%${escapeLike(text)}%`} ESCAPE '\\'`;

export function resourceGroupRepo(db: Kysely<Schema>): ResourceGroupRepo {
  return {
    async create(group) {
      const row = await db
        .insertInto('resource_groups')
        .values({
          id: group.id,
          name: group.name,
          display_name: group.displayName,
          created_at: group.createdAtMs,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returning('seq')
        .executeTakeFirst();
      return row ? { ...group, seq: Number(row.seq) } : undefined;
    },

    async get(id) {
      const row = await db.selectFrom('resource_groups').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? toGroup(row) : undefined;
    },

    async count() {
      const row = await db
        .selectFrom('resource_groups')
        .select(sql<number>`count(*)`.as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async list(filter, page) {
      let query = db.selectFrom('resource_groups').selectAll();
      if (filter.ids !== undefined)
        query = query.where('id', 'in', filter.ids.length > 0 ? filter.ids : ['']);
      if (filter.name !== undefined) query = query.where(contains('name', filter.name));
      if (filter.displayName !== undefined) query = query.where(contains('display_name', filter.displayName));
      const result = await paginate(query, 'seq', page, (row: Selectable<ResourceGroupTable>) =>
        Number(row.seq),
      );
      return { ...result, items: result.items.map(toGroup) };
    },

    async delete(id) {
      return db.transaction().execute(async (trx) => {
        for (const table of members) {
          const used = await trx
            .selectFrom(table)
            .select('id')
            .where('resource_group_id', '=', id)
            .executeTakeFirst();
          if (used) return 'in-use';
        }
        const result = await trx.deleteFrom('resource_groups').where('id', '=', id).executeTakeFirst();
        return Number(result.numDeletedRows) > 0 ? 'deleted' : 'missing';
      });
    },

    async join(regionId, type, resourceId, groupId) {
      const result = await db
        .updateTable(tables[type])
        .set({ resource_group_id: groupId })
        .where('region_id', '=', regionId)
        .where('id', '=', resourceId)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}
