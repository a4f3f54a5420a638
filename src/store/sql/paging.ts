import { type Kysely, type RawBuilder, type SelectQueryBuilder, sql } from 'kysely';
import { encodeNextToken, type Page, type PageRequest } from '../../domain/paging.js';
import type { TagFilter } from '../../domain/tags.js';
import { foldAscii, type TextPattern } from '../../domain/text-pattern.js';
import type { Schema } from '../schema.js';
import { type Argument, prepared } from './prepared.js';
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
export async function paginate<DB, TB extends keyof DB, Row>(
  query: SelectQueryBuilder<DB, TB, Row>,
  seqColumn: string,
  page: PageRequest,
  seqOf: (row: Row) => number,
): Promise<Page<Row>> {
  // Kysely cannot name a selection over tables it does not know yet (DB is generic here).
  const counted = await query
    .clearSelect()
    .select(sql<number | string>`count(*)`.as('n'))
    .$castTo<{ n: number | string }>()
    .executeTakeFirstOrThrow();
  const totalCount = Number(counted.n);
  const ordered = query.orderBy(sql.ref(seqColumn), 'desc');
  if (page.style === 'page') {
    const rows = await ordered
      .limit(page.pageSize)
      .offset((page.pageNumber - 1) * page.pageSize)
      .execute();
    return { items: rows, totalCount, nextToken: undefined };
  }
  const after = page.afterSeq === undefined ? ordered : ordered.where(sql.ref(seqColumn), '<', page.afterSeq);
  const rows = await after.limit(page.maxResults + 1).execute();
  return tokenPage(rows, totalCount, page.maxResults, seqOf);
}

/** A NextToken page from up to `maxResults + 1` rows: the extra row tells that another page follows. */
function tokenPage<Row>(rows: Row[], totalCount: number, maxResults: number, seqOf: (row: Row) => number) {
  const items = rows.slice(0, maxResults);
  const last = items.at(-1);
  return {
    items,
    totalCount,
    nextToken: rows.length > maxResults && last !== undefined ? encodeNextToken(seqOf(last)) : undefined,
  };
}

/**
 * `paginate` for a hot list whose query is built from a filter's values by `prepared`'s rules (the
 * filter's shape may steer the build, its values never do): each kind of page compiles once per
 * shape of filter. A page carries its total in each row (an uncorrelated subquery, counted once),
 * so a call costs one round trip; only an empty page past the first counts on its own.
 */
export function preparedPages<F extends Argument, DB, TB extends keyof DB, Row>(
  build: (db: Kysely<Schema>, filter: F) => SelectQueryBuilder<DB, TB, Row>,
  seqColumn: string,
  seqOf: (row: Row) => number,
) {
  const counting = (db: Kysely<Schema>, filter: F) =>
    build(db, filter)
      .clearSelect()
      .select(sql<number | string>`count(*)`.as('n'))
      // As in `paginate`: no selection can be named over generic tables.
      .$castTo<{ n: number | string }>();
  const newestFirst = (db: Kysely<Schema>, filter: F) =>
    build(db, filter)
      .select(sql<number | string>`(${counting(db, filter)})`.as('page_total'))
      .$castTo<Row & { page_total: number | string }>()
      .orderBy(sql.ref(seqColumn), 'desc');
  const count = prepared(counting);
  const byNumber = prepared((db, filter: F, limit: number, offset: number) =>
    newestFirst(db, filter).limit(limit).offset(offset),
  );
  const first = prepared((db, filter: F, limit: number) => newestFirst(db, filter).limit(limit));
  const after = prepared((db, filter: F, limit: number, afterSeq: number) =>
    newestFirst(db, filter).where(sql.ref(seqColumn), '<', afterSeq).limit(limit),
  );
  const totalOf = async (
    db: Kysely<Schema>,
    filter: F,
    rows: readonly { page_total: number | string }[],
    firstPage: boolean,
  ): Promise<number> => {
    const [row] = rows;
    if (row) return Number(row.page_total);
    // Nothing on the first page: nothing at all. Past it, the page is empty but others may not be.
    if (firstPage) return 0;
    const [counted] = (await count(db, filter)).rows;
    return Number(counted?.n ?? 0);
  };
  return async (db: Kysely<Schema>, filter: F, page: PageRequest): Promise<Page<Row>> => {
    if (page.style === 'page') {
      const { rows } = await byNumber(db, filter, page.pageSize, (page.pageNumber - 1) * page.pageSize);
      return {
        items: rows,
        totalCount: await totalOf(db, filter, rows, page.pageNumber === 1),
        nextToken: undefined,
      };
    }
    const limit = page.maxResults + 1;
    const { rows } =
      page.afterSeq === undefined
        ? await first(db, filter, limit)
        : await after(db, filter, limit, page.afterSeq);
    const totalCount = await totalOf(db, filter, rows, page.afterSeq === undefined);
    return tokenPage(rows, totalCount, page.maxResults, seqOf);
  };
}

/** Escapes `%`, `_` and `\` for a LIKE pattern used with `ESCAPE '\'`. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

const asciiUpper = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * `column` matches a `*` pattern (`domain/text-pattern.ts`). SQLite's LIKE folds ASCII letters
 * only; PostgreSQL folds the same letters with translate() (ILIKE would fold every script), so
 * both stores match alike.
 */
export function textCondition(
  column: string,
  pattern: TextPattern,
  dialect: 'sqlite' | 'postgres',
): RawBuilder<boolean> {
  if ('exact' in pattern) return sql<boolean>`${sql.ref(column)} = ${pattern.exact}`;
  const like = pattern.folded.map(escapeLike).join('%');
  if (dialect === 'sqlite') return sql<boolean>`${sql.ref(column)} LIKE ${like} ESCAPE '\\'`;
  return sql<boolean>`translate(${sql.ref(column)}, ${asciiUpper}, ${asciiUpper.toLowerCase()}) LIKE ${foldAscii(like)} ESCAPE '\\'`;
}
