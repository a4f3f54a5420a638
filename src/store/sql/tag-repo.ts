import { type Kysely, sql } from 'kysely';
import type { Schema } from '../schema.js';
import type { TaggedType, TagRepo } from '../store.js';
import { tagCondition } from './paging.js';

// Where each taggable resource lives; every one of these tables has `id` and `region_id`.
const tables = {
  command: 'commands',
  invocation: 'invocations',
  instance: 'instances',
  activation: 'activations',
} as const satisfies Record<TaggedType, keyof Schema>;

export function tagRepo(db: Kysely<Schema>): TagRepo {
  return {
    async existing(regionId, type, ids) {
      if (ids.length === 0) return new Set();
      const rows = await db
        .selectFrom(tables[type])
        .select('id')
        .where('region_id', '=', regionId)
        .where('id', 'in', ids)
        .execute();
      return new Set(rows.map((row) => row.id));
    },

    async tag(type, ids, tags, maxPerResource) {
      return db
        .transaction()
        .execute(async (trx) => {
          for (const id of ids) {
            for (const tag of tags) {
              await trx
                .insertInto('tags')
                .values({ resource_type: type, resource_id: id, tag_key: tag.key, tag_value: tag.value })
                .onConflict((oc) =>
                  oc
                    .columns(['resource_type', 'resource_id', 'tag_key'])
                    .doUpdateSet({ tag_value: tag.value }),
                )
                .execute();
            }
            const count = await trx
              .selectFrom('tags')
              .select(sql<number>`count(*)`.as('n'))
              .where('resource_type', '=', type)
              .where('resource_id', '=', id)
              .executeTakeFirstOrThrow();
            // Throwing rolls the whole call back: all resources are tagged, or none.
            if (Number(count.n) > maxPerResource) throw new TooManyTags(id);
          }
          return undefined;
        })
        .catch((error: unknown) => {
          if (error instanceof TooManyTags) return error.resourceId;
          throw error;
        });
    },

    async untag(type, ids, keys) {
      if (ids.length === 0 || (keys !== 'all' && keys.length === 0)) return;
      let query = db.deleteFrom('tags').where('resource_type', '=', type).where('resource_id', 'in', ids);
      if (keys !== 'all') query = query.where('tag_key', 'in', keys);
      await query.execute();
    },

    async list(regionId, type, ids, filters, resourceGroupId, offset, limit) {
      const table = tables[type];
      let owners = db.selectFrom(table).select(`${table}.id`).where(`${table}.region_id`, '=', regionId);
      if (ids !== undefined) owners = owners.where(`${table}.id`, 'in', ids);
      if (resourceGroupId !== undefined)
        owners = owners.where(`${table}.resource_group_id`, '=', resourceGroupId);
      for (const filter of filters) owners = owners.where(tagCondition(type, `${table}.id`, filter));
      const rows = await db
        .selectFrom('tags')
        .select(['resource_id', 'tag_key', 'tag_value'])
        .where('resource_type', '=', type)
        .where('resource_id', 'in', owners)
        .orderBy('resource_id')
        .orderBy('tag_key')
        .limit(limit)
        .offset(offset)
        .execute();
      return rows.map((row) => ({
        resourceType: type,
        resourceId: row.resource_id,
        key: row.tag_key,
        value: row.tag_value,
      }));
    },

    async instancesWithTags(regionId, tags, limit) {
      let query = db
        .selectFrom('instances')
        .select('instances.id')
        .where('instances.region_id', '=', regionId);
      for (const tag of tags) query = query.where(tagCondition('instance', 'instances.id', tag));
      const rows = await query.orderBy('instances.seq').limit(limit).execute();
      return rows.map((row) => row.id);
    },
  };
}

class TooManyTags extends Error {
  constructor(readonly resourceId: string) {
    super(`too many tags on ${resourceId}`);
  }
}
