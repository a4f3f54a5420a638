import { type Kysely, sql } from 'kysely';
import type { Invocation } from '../../domain/invocation.js';
import { newRun } from '../../domain/invocation-state.js';
import { endedInvocationStatuses, liveStatuses } from '../../domain/invocation-status.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo, InvocationResult } from '../store.js';
import {
  type InvocationRow,
  invocationRow,
  joined,
  type RunColumns,
  runColumns,
  runOf,
  runRow,
  toInvocation,
  toRun,
} from './invocation-rows.js';
import { paginate, preparedPages, tagCondition } from './paging.js';
import { prepared } from './prepared.js';
import { deliveryQueries, runDelivery } from './run-delivery.js';
import { outputQueries, runOutput } from './run-output.js';
import { closeScope, directRows, openScope, runQueries, type TransactionScope } from './run-transaction.js';
import { runUpdates } from './run-updates.js';
import { replaceTags, tagsOf } from './tags.js';

/**
 * The invocation repo, put together from its parts: invocations (here), run updates, delivery and
 * output (run-*.ts), sharing the statements each compiled once per store.
 */

/** What a result page filters by; the names left undefined do not filter. */
type ResultFilter = {
  readonly regionId: string;
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
  let query = joined(db).select(runColumns).where('invocations.region_id', '=', filter.regionId);
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

/** The statements of every InvokeCommand and result page, compiled once per store. */
function invocationQueries() {
  return {
    countToward: prepared((db, regionId: string, utcDay: string, limit: number) =>
      db
        .insertInto('invocation_quota')
        .values({ region_id: regionId, utc_day: utcDay, used: 1 })
        .onConflict((oc) =>
          oc
            .columns(['region_id', 'utc_day'])
            .doUpdateSet({ used: sql<number>`invocation_quota.used + 1` })
            .where(sql<boolean>`invocation_quota.used < ${limit}`),
        )
        .returning('used'),
    ),
    insertInvocation: prepared((db, row: ReturnType<typeof invocationRow>) =>
      db.insertInto('invocations').values(row).returning('seq'),
    ),
    insertRuns: prepared((db, rows: ReturnType<typeof runRow>[]) =>
      db.insertInto('invocation_instances').values(rows),
    ),
    countCommandInvoke: prepared((db, commandId: string) =>
      db
        .updateTable('commands')
        .set((eb) => ({ invoke_times: eb('invoke_times', '+', 1) }))
        .where('id', '=', commandId),
    ),
    countInstanceInvokes: prepared((db, instanceIds: string[], atMs: number) =>
      db
        .updateTable('instances')
        .set((eb) => ({ invocation_count: eb('invocation_count', '+', 1), last_invoked_at: atMs }))
        .where('id', 'in', instanceIds),
    ),
    newestResults: preparedPages(
      (db, filter: ResultFilter) => resultQuery(db, filter, false),
      'ii.seq',
      runSeq,
    ),
    everyResult: preparedPages((db, filter: ResultFilter) => resultQuery(db, filter, true), 'ii.seq', runSeq),
    invocations: prepared((db, ids: string[]) =>
      db.selectFrom('invocations').selectAll().where('id', 'in', ids),
    ),
  };
}

/** Every statement the repo prepares, compiled once per store and shared by its transactions. */
function queriesFor(dialect: 'sqlite' | 'postgres') {
  const runs = runQueries(dialect);
  return {
    invocations: invocationQueries(),
    runs,
    direct: directRows(runs),
    delivery: deliveryQueries(),
    output: outputQueries(),
  };
}

type Queries = ReturnType<typeof queriesFor>;

export function invocationRepo(
  db: Kysely<Schema>,
  dialect: 'sqlite' | 'postgres',
  scope?: TransactionScope,
  queries: Queries = queriesFor(dialect),
): InvocationRepo {
  const own = queries.invocations;
  const rows = scope?.rows ?? queries.direct;

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
    const found = ids.length === 0 ? [] : (await own.invocations(db, ids)).rows;
    const byId = new Map((await withTags(found)).map((invocation) => [invocation.id, invocation]));
    // A run whose invocation was purged between the two reads is left out.
    return runRows.flatMap((row) => {
      const invocation = byId.get(row.run_invoke_id);
      return invocation ? [{ invocation, run: runOf(row) }] : [];
    });
  }

  const repo: InvocationRepo = {
    ...runUpdates(db, queries.runs, rows, scope),
    ...runDelivery(db, queries.delivery),
    ...runOutput(db, queries.output, rows),

    async create(invocation, initialRuns, quota) {
      const instanceIds = initialRuns.map((run) => run.instanceId);
      return db.transaction().execute(async (trx) => {
        if (quota) {
          const [counted] = (await own.countToward(trx, invocation.regionId, quota.utcDay, quota.limit)).rows;
          if (!counted || Number(counted.used) > quota.limit) return undefined;
        }
        const [row] = (await own.insertInvocation(trx, invocationRow(invocation))).rows;
        if (!row) throw new Error(`invocation ${invocation.id} was not stored`);
        const atMs = invocation.createdAtMs;
        await own.insertRuns(
          trx,
          initialRuns.map((run) =>
            runRow(
              { invokeId: invocation.id, instanceId: run.instanceId, execution: 0 },
              newRun(0, run.status, false, atMs),
              atMs,
              run,
            ),
          ),
        );
        // A new id has no tags to replace: only tags given cost a statement.
        if (invocation.tags.length > 0) await replaceTags(trx, 'invocation', invocation.id, invocation.tags);
        await own.countCommandInvoke(trx, invocation.commandId);
        await own.countInstanceInvokes(trx, instanceIds, atMs);
        return { ...invocation, seq: Number(row.seq) };
      });
    },

    async get(regionId, id) {
      const row = await db
        .selectFrom('invocations')
        .selectAll()
        .where('region_id', '=', regionId)
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? (await withTags([row]))[0] : undefined;
    },

    async runs(invokeId) {
      const found = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .where('execution', '=', 0)
        .orderBy('seq')
        .execute();
      return found.map(toRun);
    },

    async latestExecutions(invokeIds) {
      if (invokeIds.length === 0) return new Map();
      const found = await db
        .selectFrom('invocation_instances as ii')
        .selectAll()
        .where('ii.invoke_id', 'in', invokeIds)
        .where('ii.execution', '>', 0)
        .where(({ eb, selectFrom }) =>
          eb(
            'ii.execution',
            '=',
            selectFrom('invocation_instances as newest')
              .select(({ fn }) => fn.max('newest.execution').as('n'))
              .whereRef('newest.invoke_id', '=', 'ii.invoke_id')
              .whereRef('newest.instance_id', '=', 'ii.instance_id'),
          ),
        )
        .execute();
      return new Map(found.map((row) => [`${row.invoke_id}/${row.instance_id}`, toRun(row)]));
    },

    async liveRuns(invokeId, instanceId) {
      const found = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .where('instance_id', '=', instanceId)
        .where('status', 'in', liveStatuses)
        .orderBy('execution', 'desc')
        .execute();
      return found.map(toRun);
    },

    async run(key) {
      const row = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', key.invokeId)
        .where('instance_id', '=', key.instanceId)
        .where('execution', '=', key.execution)
        .executeTakeFirst();
      return row ? toRun(row) : undefined;
    },

    async executions(invokeId, instanceId) {
      const found = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .$if(instanceId !== undefined, (q) => q.where('instance_id', '=', instanceId ?? ''))
        .orderBy('instance_id')
        .orderBy('execution')
        .execute();
      return found.map(toRun);
    },

    async list(filter, page) {
      let query = db.selectFrom('invocations').selectAll().where('region_id', '=', filter.regionId);
      if (filter.invokeId !== undefined) query = query.where('id', '=', filter.invokeId);
      if (filter.commandId !== undefined) query = query.where('command_id', '=', filter.commandId);
      if (filter.commandName !== undefined) query = query.where('command_name', '=', filter.commandName);
      if (filter.commandType !== undefined) query = query.where('command_type', '=', filter.commandType);
      if (filter.repeatMode !== undefined) query = query.where('repeat_mode', '=', filter.repeatMode);
      if (filter.resourceGroupId !== undefined)
        query = query.where('resource_group_id', '=', filter.resourceGroupId);
      if (filter.statuses !== undefined) query = query.where('invocation_status', 'in', filter.statuses);
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
      const pages = filter.includeHistory ? own.everyResult : own.newestResults;
      const result = await pages(
        db,
        {
          regionId: filter.regionId,
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

    inOneTransaction(work) {
      if (db.isTransaction) return work(repo);
      return db.transaction().execute(async (trx) => {
        const inner = openScope(dialect, queries.runs, queries.direct);
        const result = await work(invocationRepo(trx, dialect, inner, queries));
        await closeScope(trx, queries.runs, inner);
        return result;
      });
    },

    async purgeEndedBefore(beforeMs, limit) {
      return db.transaction().execute(async (trx) => {
        const ended = await trx
          .selectFrom('invocations')
          .select('id')
          .where('created_at', '<', beforeMs)
          .where('invocation_status', 'in', endedInvocationStatuses)
          .orderBy('seq')
          .limit(limit)
          .execute();
        const ids = ended.map((row) => row.id);
        if (ids.length === 0) return 0;
        await trx.deleteFrom('output_chunks').where('invoke_id', 'in', ids).execute();
        await trx.deleteFrom('invocation_instances').where('invoke_id', 'in', ids).execute();
        await trx
          .deleteFrom('tags')
          .where('resource_type', '=', 'invocation')
          .where('resource_id', 'in', ids)
          .execute();
        await trx.deleteFrom('invocations').where('id', 'in', ids).execute();
        return ids.length;
      });
    },
  };
  return repo;
}
