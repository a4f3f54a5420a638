import type { Kysely } from 'kysely';
import type { Invocation } from '../../domain/invocation.js';
import { timedRepeatModes } from '../../domain/invocation-filters.js';
import { endedInvocationStatuses } from '../../domain/invocation-status.js';
import type { Tag } from '../../domain/tags.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo, InvocationResult } from '../store.js';
import {
  type InvocationRow,
  joined,
  type RunColumns,
  runColumns,
  runOf,
  toInvocation,
} from './invocation-rows.js';
import { paginate, preparedPages, tagCondition } from './paging.js';
import { prepared } from './prepared.js';
import { type ResourceType, tagsOf } from './tags.js';

/** Invocations and their results as the Describe actions list them, with their tags. */

/** What a result page filters by; the names left undefined do not filter. */
type ResultFilter = {
  readonly regionId: string;
  readonly kind: 'command' | 'file';
  readonly invokeId: string | undefined;
  readonly commandId: string | undefined;
  readonly instanceId: string | undefined;
  readonly repeatMode: string | undefined;
  readonly resourceGroupId: string | undefined;
  readonly runStatuses: readonly string[] | undefined;
  readonly tags: readonly { readonly key: string; readonly value: string | undefined }[];
};

/** Runs (the join filters; each invocation is read once after), every run or row 0 alone. */
function resultQuery(db: Kysely<Schema>, filter: ResultFilter, history: boolean) {
  let query = joined(db)
    .select(runColumns)
    .where('invocations.region_id', '=', filter.regionId)
    .where('invocations.kind', '=', filter.kind);
  if (filter.invokeId !== undefined) query = query.where('ii.invoke_id', '=', filter.invokeId);
  if (filter.commandId !== undefined) query = query.where('invocations.command_id', '=', filter.commandId);
  if (filter.instanceId !== undefined) query = query.where('ii.instance_id', '=', filter.instanceId);
  if (filter.repeatMode !== undefined) query = query.where('invocations.repeat_mode', '=', filter.repeatMode);
  if (filter.resourceGroupId !== undefined) {
    query = query.where('invocations.resource_group_id', '=', filter.resourceGroupId);
  }
  if (filter.runStatuses !== undefined) query = query.where('ii.status', 'in', filter.runStatuses);
  // History: every run, so row 0 only where it is the run (Once, NextRebootOnly); else row 0 alone.
  query = history
    ? query.where((eb) =>
        eb.or([
          eb('ii.execution', '>', 0),
          eb('invocations.repeat_mode', 'not in', ['Period', 'EveryReboot']),
        ]),
      )
    : query.where('ii.execution', '=', 0);
  for (const tag of filter.tags) query = query.where(tagCondition('invocation', 'invocations.id', tag));
  return query;
}

const runSeq = (row: RunColumns): number => Number(row.run_seq);

/** The statements of every result page, compiled once per store. */
export function listingQueries() {
  return {
    newestResults: preparedPages(
      (db, filter: ResultFilter) => resultQuery(db, filter, false),
      'ii.seq',
      runSeq,
    ),
    everyResult: preparedPages((db, filter: ResultFilter) => resultQuery(db, filter, true), 'ii.seq', runSeq),
    // Each invocation with its tags, a row per tag (one row with no tag when it has none): one
    // round trip where an invocation read and a tag read took two.
    invocationsWithTags: prepared((db, ids: string[]) =>
      db
        .selectFrom('invocations')
        .leftJoin('tags', (join) =>
          join
            .onRef('tags.resource_id', '=', 'invocations.id')
            .on('tags.resource_type', '=', 'invocation' satisfies ResourceType),
        )
        .selectAll('invocations')
        .select(['tags.tag_key as tag_key', 'tags.tag_value as tag_value'])
        .where('invocations.id', 'in', ids)
        .orderBy('invocations.id')
        .orderBy('tags.tag_key'),
    ),
  };
}

export type ListingQueries = ReturnType<typeof listingQueries>;

type ListingMethods = Pick<InvocationRepo, 'get' | 'list' | 'listResults'>;

export function invocationListings(db: Kysely<Schema>, queries: ListingQueries): ListingMethods {
  async function withTags(invocations: InvocationRow[]): Promise<Invocation[]> {
    const tags = await tagsOf(
      db,
      'invocation',
      invocations.map((row) => row.id),
    );
    return invocations.map((row) => toInvocation(row, tags.get(row.id) ?? []));
  }

  /** Runs with their invocations, each invocation (and its tags) read once however many runs it has. */
  async function withInvocations(runRows: RunColumns[]): Promise<InvocationResult[]> {
    const ids = [...new Set(runRows.map((row) => row.run_invoke_id))];
    const found = ids.length === 0 ? [] : (await queries.invocationsWithTags(db, ids)).rows;
    const tagged = new Map<string, { row: InvocationRow; tags: Tag[] }>();
    for (const row of found) {
      let entry = tagged.get(row.id);
      if (!entry) {
        entry = { row, tags: [] };
        tagged.set(row.id, entry);
      }
      if (row.tag_key !== null) entry.tags.push({ key: row.tag_key, value: row.tag_value ?? '' });
    }
    const byId = new Map([...tagged.values()].map(({ row, tags }) => [row.id, toInvocation(row, tags)]));
    // A run whose invocation was purged between the two reads is left out.
    return runRows.flatMap((row) => {
      const invocation = byId.get(row.run_invoke_id);
      return invocation ? [{ invocation, run: runOf(row) }] : [];
    });
  }

  return {
    async get(regionId, id) {
      const row = await db
        .selectFrom('invocations')
        .selectAll()
        .where('region_id', '=', regionId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? (await withTags([row]))[0] : undefined;
    },

    async list(filter, page) {
      let query = db
        .selectFrom('invocations')
        .selectAll()
        .where('region_id', '=', filter.regionId)
        .where('kind', '=', filter.kind ?? 'command');
      if (filter.invokeId !== undefined) query = query.where('id', '=', filter.invokeId);
      if (filter.commandId !== undefined) query = query.where('command_id', '=', filter.commandId);
      if (filter.commandName !== undefined) query = query.where('command_name', '=', filter.commandName);
      if (filter.commandType !== undefined) query = query.where('command_type', '=', filter.commandType);
      if (filter.repeatMode !== undefined) query = query.where('repeat_mode', '=', filter.repeatMode);
      if (filter.resourceGroupId !== undefined)
        query = query.where('resource_group_id', '=', filter.resourceGroupId);
      if (filter.statuses !== undefined) query = query.where('invocation_status', 'in', filter.statuses);
      if (filter.timed !== undefined) {
        // isTimedInvocation in SQL (the index on region and mode serves the timed side).
        const timed = filter.timed;
        query = query.where((eb) => {
          const live = eb.and([
            eb('repeat_mode', 'in', timedRepeatModes),
            eb('invocation_status', 'not in', endedInvocationStatuses),
          ]);
          return timed ? live : eb.not(live);
        });
      }
      if (filter.instanceId !== undefined) {
        const instanceId = filter.instanceId;
        query = query.where(({ exists, selectFrom }) =>
          exists(
            selectFrom('invocation_instances')
              .select('invocation_instances.seq')
              .whereRef('invocation_instances.invoke_id', '=', 'invocations.id')
              .where('invocation_instances.instance_id', '=', instanceId),
          ),
        );
      }
      for (const tag of filter.tags) query = query.where(tagCondition('invocation', 'invocations.id', tag));
      const result = await paginate(query, 'seq', page, (row: InvocationRow) => Number(row.seq));
      return { ...result, items: await withTags(result.items) };
    },

    async listResults(filter, page) {
      const pages = filter.includeHistory ? queries.everyResult : queries.newestResults;
      const result = await pages(
        db,
        {
          regionId: filter.regionId,
          kind: filter.kind ?? 'command',
          invokeId: filter.invokeId,
          commandId: filter.commandId,
          instanceId: filter.instanceId,
          repeatMode: filter.repeatMode,
          resourceGroupId: filter.resourceGroupId,
          runStatuses: filter.runStatuses,
          tags: filter.tags.map((tag) => ({ key: tag.key, value: tag.value })),
        },
        page,
      );
      return { ...result, items: await withInvocations(result.items) };
    },
  };
}
