import type { Kysely, Selectable } from 'kysely';
import type { Activation } from '../../domain/fleet.js';
import type { Tag } from '../../domain/tags.js';
import type { ActivationTable, Schema } from '../schema.js';
import type { ActivationRepo } from '../store.js';
import { paginate, tagCondition } from './paging.js';
import { replaceTags, tagsOf } from './tags.js';

export const toActivation = (row: Selectable<ActivationTable>, tags: Tag[]): Activation => ({
  seq: Number(row.seq),
  id: row.id,
  regionId: row.region_id,
  codeHash: row.code_hash,
  instanceName: row.instance_name,
  instanceCount: row.instance_count,
  registeredCount: row.registered_count,
  deregisteredCount: row.deregistered_count,
  ttlHours: row.ttl_hours,
  ipAddressRange: row.ip_address_range,
  description: row.description,
  disabled: row.disabled === 1,
  resourceGroupId: row.resource_group_id,
  createdAtMs: Number(row.created_at),
  tags,
});

export function activationRepo(db: Kysely<Schema>): ActivationRepo {
  async function withTags(rows: Selectable<ActivationTable>[]): Promise<Activation[]> {
    const tags = await tagsOf(
      db,
      'activation',
      rows.map((row) => row.id),
    );
    return rows.map((row) => toActivation(row, tags.get(row.id) ?? []));
  }
  const one = async (row: Selectable<ActivationTable> | undefined) =>
    row ? (await withTags([row]))[0] : undefined;

  return {
    async insert(activation) {
      return db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('activations')
          .values({
            id: activation.id,
            region_id: activation.regionId,
            code_hash: activation.codeHash,
            instance_name: activation.instanceName,
            instance_count: activation.instanceCount,
            registered_count: activation.registeredCount,
            deregistered_count: activation.deregisteredCount,
            ttl_hours: activation.ttlHours,
            ip_address_range: activation.ipAddressRange,
            description: activation.description,
            disabled: activation.disabled ? 1 : 0,
            resource_group_id: activation.resourceGroupId,
            created_at: activation.createdAtMs,
          })
          .returning('seq')
          .executeTakeFirstOrThrow();
        await replaceTags(trx, 'activation', activation.id, activation.tags);
        return { ...activation, seq: Number(row.seq) };
      });
    },

    get: async (regionId, id) =>
      one(
        await db
          .selectFrom('activations')
          .selectAll()
          .where('region_id', '=', regionId)
          .where('id', '=', id)
          .executeTakeFirst(),
      ),

    find: async (id) =>
      one(await db.selectFrom('activations').selectAll().where('id', '=', id).executeTakeFirst()),

    async list(filter, page) {
      let query = db.selectFrom('activations').selectAll().where('region_id', '=', filter.regionId);
      if (filter.activationId !== undefined) query = query.where('id', '=', filter.activationId);
      if (filter.instanceName !== undefined) query = query.where('instance_name', '=', filter.instanceName);
      if (filter.resourceGroupId !== undefined)
        query = query.where('resource_group_id', '=', filter.resourceGroupId);
      for (const tag of filter.tags) query = query.where(tagCondition('activation', 'activations.id', tag));
      const result = await paginate(query, 'seq', page, (row: Selectable<ActivationTable>) =>
        Number(row.seq),
      );
      return { ...result, items: await withTags(result.items) };
    },

    async disable(regionId, id) {
      const result = await db
        .updateTable('activations')
        .set({ disabled: 1 })
        .where('region_id', '=', regionId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async delete(regionId, id) {
      return db.transaction().execute(async (trx) => {
        // The delete itself carries the condition, so an instance registering meanwhile cannot slip in.
        const result = await trx
          .deleteFrom('activations')
          .where('region_id', '=', regionId)
          .where('id', '=', id)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('instances')
                  .select('instances.id')
                  .whereRef('instances.activation_id', '=', 'activations.id'),
              ),
            ),
          )
          .executeTakeFirst();
        if (Number(result.numDeletedRows) > 0) {
          await replaceTags(trx, 'activation', id, []);
          return 'deleted';
        }
        const exists = await trx
          .selectFrom('activations')
          .select('id')
          .where('region_id', '=', regionId)
          .where('id', '=', id)
          .executeTakeFirst();
        return exists ? 'in-use' : 'missing';
      });
    },
  };
}
