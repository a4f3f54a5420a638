import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { InvocationRepo } from '../store.js';
import { toRun } from './invocation-rows.js';

/** Runs by update time, for the fleet-wide event stream (index invocation_instances_update). */
export function runChanges(db: Kysely<Schema>): Pick<InvocationRepo, 'changedSince'> {
  return {
    async changedSince(regionId, sinceMs, limit, resourceGroupId) {
      const rows = await db
        .selectFrom('invocation_instances as ii')
        .innerJoin('invocations as inv', 'inv.id', 'ii.invoke_id')
        .selectAll('ii')
        .select(['inv.resource_group_id as group_id', 'inv.command_id as command'])
        .where('ii.update_time', '>=', sinceMs)
        .where('inv.region_id', '=', regionId)
        .$if(resourceGroupId !== undefined, (q) =>
          q.where('inv.resource_group_id', '=', resourceGroupId ?? ''),
        )
        .orderBy('ii.update_time')
        .orderBy('ii.seq')
        .limit(limit)
        .execute();
      return rows.map((row) => ({ run: toRun(row), resourceGroupId: row.group_id, commandId: row.command }));
    },
  };
}
