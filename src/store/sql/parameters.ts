import { type Kysely, type Selectable, sql } from 'kysely';
import type { ParameterTable, Schema } from '../schema.js';
import type { ParameterRepo, StoredParameter } from '../store.js';
import { escapeLike, paginate } from './paging.js';

const toParameter = (row: Selectable<ParameterTable>): StoredParameter => ({
  seq: Number(row.seq),
  id: row.id,
  regionId: row.region_id,
  kind: row.kind === 'secret' ? 'secret' : 'plain',
  name: row.name,
  type: row.type,
  value: row.value,
  description: row.description,
  version: row.version,
  createdAtMs: Number(row.created_at),
  updatedAtMs: Number(row.updated_at),
});

export function parameterRepo(db: Kysely<Schema>): ParameterRepo {
  const scoped = (regionId: string, kind: string) =>
    db.selectFrom('parameters').selectAll().where('region_id', '=', regionId).where('kind', '=', kind);

  return {
    async create(parameter) {
      const row = await db
        .insertInto('parameters')
        .values({
          id: parameter.id,
          region_id: parameter.regionId,
          kind: parameter.kind,
          name: parameter.name,
          type: parameter.type,
          value: parameter.value,
          description: parameter.description,
          version: parameter.version,
          created_at: parameter.createdAtMs,
          updated_at: parameter.updatedAtMs,
        })
        .onConflict((oc) => oc.columns(['region_id', 'kind', 'name']).doNothing())
        .returning('seq')
        .executeTakeFirst();
      return row ? { ...parameter, seq: Number(row.seq) } : undefined;
    },

    async get(regionId, kind, name) {
      const row = await scoped(regionId, kind).where('name', '=', name).executeTakeFirst();
      return row ? toParameter(row) : undefined;
    },

    async getMany(regionId, kind, names) {
      if (names.length === 0) return [];
      return (await scoped(regionId, kind).where('name', 'in', names).execute()).map(toParameter);
    },

    async update(regionId, kind, name, change, atMs) {
      const result = await db
        .updateTable('parameters')
        .set({
          ...(change.value !== undefined && { value: change.value }),
          ...(change.description !== undefined && { description: change.description }),
          version: sql<number>`version + 1`,
          updated_at: atMs,
        })
        .where('region_id', '=', regionId)
        .where('kind', '=', kind)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async delete(regionId, kind, name) {
      const result = await db
        .deleteFrom('parameters')
        .where('region_id', '=', regionId)
        .where('kind', '=', kind)
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async list(regionId, kind, namePrefix, page) {
      let query = scoped(regionId, kind);
      if (namePrefix)
        query = query.where(sql<boolean>`name LIKE ${`${escapeLike(namePrefix)}%`} ESCAPE '\\'`);
      const result = await paginate(query, 'seq', page, (row: Selectable<ParameterTable>) => Number(row.seq));
      return { ...result, items: result.items.map(toParameter) };
    },
  };
}
