import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { SettingRepo } from '../store.js';

export function settingRepo(db: Kysely<Schema>): SettingRepo {
  return {
    async get(regionId, settingType) {
      const row = await db
        .selectFrom('cloud_assistant_settings')
        .select('value')
        .where('region_id', '=', regionId)
        .where('setting_type', '=', settingType)
        .executeTakeFirst();
      return row?.value;
    },

    async all(settingType) {
      const rows = await db
        .selectFrom('cloud_assistant_settings')
        .select(['region_id', 'value'])
        .where('setting_type', '=', settingType)
        .execute();
      return new Map(rows.map((row) => [row.region_id, row.value]));
    },

    async put(regionId, settingType, value, atMs) {
      await db
        .insertInto('cloud_assistant_settings')
        .values({ region_id: regionId, setting_type: settingType, value, updated_at: atMs })
        .onConflict((oc) =>
          oc.columns(['region_id', 'setting_type']).doUpdateSet({ value, updated_at: atMs }),
        )
        .execute();
    },
  };
}
