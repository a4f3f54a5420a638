import type { Kysely } from 'kysely';
import type { Tag } from '../../domain/tags.js';
import type { Schema } from '../schema.js';

export type ResourceType = 'command' | 'invocation' | 'instance' | 'activation';

export async function replaceTags(
  db: Kysely<Schema>,
  resourceType: ResourceType,
  resourceId: string,
  tags: readonly Tag[],
): Promise<void> {
  await db
    .deleteFrom('tags')
    .where('resource_type', '=', resourceType)
    .where('resource_id', '=', resourceId)
    .execute();
  if (tags.length === 0) return;
  await db
    .insertInto('tags')
    .values(
      tags.map((tag) => ({
        resource_type: resourceType,
        resource_id: resourceId,
        tag_key: tag.key,
        tag_value: tag.value,
      })),
    )
    .execute();
}

/** Tags of many resources in one query, in key order. */
export async function tagsOf(
  db: Kysely<Schema>,
  resourceType: ResourceType,
  resourceIds: readonly string[],
): Promise<Map<string, Tag[]>> {
  const byId = new Map<string, Tag[]>(resourceIds.map((id) => [id, []]));
  if (resourceIds.length === 0) return byId;
  const rows = await db
    .selectFrom('tags')
    .select(['resource_id', 'tag_key', 'tag_value'])
    .where('resource_type', '=', resourceType)
    .where('resource_id', 'in', resourceIds)
    .orderBy('tag_key')
    .execute();
  for (const row of rows) byId.get(row.resource_id)?.push({ key: row.tag_key, value: row.tag_value });
  return byId;
}
