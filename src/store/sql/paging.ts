import { type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import { encodeNextToken, type Page, type PageRequest } from '../../domain/paging.js';
import type { TagFilter } from '../../domain/tags.js';
import type { ResourceType } from './tags.js';

/** `EXISTS` a tag on the row whose id is in `idColumn`; an absent value matches any value. */
export const tagCondition = (
  resourceType: ResourceType,
  idColumn: string,
  tag: TagFilter,
): RawBuilder<boolean> =>
  sql<boolean>`EXISTS (SELECT 1 FROM tags t WHERE t.resource_type = ${resourceType} AND t.resource_id = ${sql.ref(
    idColumn,
  )} AND t.tag_key = ${tag.key}${tag.value === undefined ? sql`` : sql` AND t.tag_value = ${tag.value}`})`;

/**
 * Runs a filtered list query in either paging style, newest first by `seqColumn`: the count, then
 * one page by offset, or by keyset after the NextToken's sequence number (one extra row tells
 * whether another page follows).
 */
export async function paginate<Row>(
  // biome-ignore lint/suspicious/noExplicitAny: the builders passed in select from different tables and joins
  query: SelectQueryBuilder<any, any, any>,
  seqColumn: string,
  page: PageRequest,
  seqOf: (row: Row) => number,
): Promise<Page<Row>> {
  const counted = (await query
    .clearSelect()
    .select(sql<number>`count(*)`.as('n'))
    .executeTakeFirstOrThrow()) as { n: number | string };
  const totalCount = Number(counted.n);
  const ordered = query.orderBy(sql.ref(seqColumn), 'desc');
  if (page.style === 'page') {
    const rows = (await ordered
      .limit(page.pageSize)
      .offset((page.pageNumber - 1) * page.pageSize)
      .execute()) as Row[];
    return { items: rows, totalCount, nextToken: undefined };
  }
  const after = page.afterSeq === undefined ? ordered : ordered.where(sql.ref(seqColumn), '<', page.afterSeq);
  const rows = (await after.limit(page.maxResults + 1).execute()) as Row[];
  const items = rows.slice(0, page.maxResults);
  const last = items.at(-1);
  return {
    items,
    totalCount,
    nextToken: rows.length > page.maxResults && last !== undefined ? encodeNextToken(seqOf(last)) : undefined,
  };
}

/** Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);
