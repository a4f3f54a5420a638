import { CompiledQuery, type Kysely, sql } from 'kysely';
import { newRun } from '../../domain/invocation-state.js';
import { endedInvocationStatuses, isFinal, liveStatuses } from '../../domain/invocation-status.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo, RunWrites } from '../store.js';
import { oneStatementCreate, sameRunShape } from './invocation-insert.js';
import { invocationListings, listingQueries } from './invocation-listings.js';
import { invocationRow, runRow, toRun } from './invocation-rows.js';
import { prepared } from './prepared.js';
import { cancelHeldRows } from './rolling-release.js';
import { runChanges } from './run-changes.js';
import { deliveryQueries, runDelivery } from './run-delivery.js';
import { outputQueries, runOutput } from './run-output.js';
import {
  announceReleased,
  closeScope,
  directRows,
  inTransaction,
  openScope,
  refreshAggregate,
  runQueries,
} from './run-transaction.js';
import { runUpdates } from './run-updates.js';
import { replaceTags } from './tags.js';
import { withRunEnds } from './telemetry.js';
import type { EventRecorder } from './webhooks.js';

/**
 * The invocation repo, put together from its parts: InvokeCommand's rows and run reads (here),
 * listings (invocation-listings.ts), state changes (run-updates.ts), delivery (run-delivery.ts) and
 * output (run-output.ts), sharing the statements each compiles once per store.
 */

/** Runs inserted per statement (each row about 16 parameters; SQLite takes 32,766, PostgreSQL 65,535). */
const insertBatch = 1000;

/** The statements of every InvokeCommand, compiled once per store. */
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
    listings: listingQueries(),
    output: outputQueries(),
  };
}

export function invocationRepo(
  db: Kysely<Schema>,
  dialect: 'sqlite' | 'postgres',
  recorder: EventRecorder,
): InvocationRepo {
  const queries = queriesFor(dialect);
  const events = withRunEnds(recorder, queries.runs.endListeners);
  const own = queries.invocations;
  const rows = queries.direct;

  type Create = InvocationRepo['create'];
  type NewInvocation = Parameters<Create>[0];
  type Quota = Parameters<Create>[2];
  type Stored = Awaited<ReturnType<Create>>;

  async function createInOneStatement(
    invocation: NewInvocation,
    runRows: ReturnType<typeof runRow>[],
    instanceIds: string[],
    quota: Quota,
  ): Promise<Stored> {
    const statement = oneStatementCreate({
      invocation: invocationRow(invocation),
      runs: runRows,
      // A sent file names no command.
      commandId: invocation.file ? undefined : invocation.commandId,
      instanceIds,
      atMs: invocation.createdAtMs,
      quota: quota && { regionId: invocation.regionId, utcDay: quota.utcDay, limit: quota.limit },
    });
    const { rows } = await db.executeQuery<{ seq: number | string }>(
      CompiledQuery.raw(statement.sql, statement.parameters),
    );
    const [row] = rows;
    // No row: the quota refused, and nothing was written.
    return row ? { ...invocation, seq: Number(row.seq) } : undefined;
  }

  function createInTransaction(
    invocation: NewInvocation,
    runRows: ReturnType<typeof runRow>[],
    instanceIds: string[],
    quota: Quota,
  ): Promise<Stored> {
    return db.transaction().execute(async (trx) => {
      if (quota) {
        const [counted] = (await own.countToward(trx, invocation.regionId, quota.utcDay, quota.limit)).rows;
        if (!counted || Number(counted.used) > quota.limit) return undefined;
      }
      const [row] = (await own.insertInvocation(trx, invocationRow(invocation))).rows;
      if (!row) throw new Error(`invocation ${invocation.id} was not stored`);
      // A rolling run may have thousands of targets: a statement's parameters are limited.
      for (let at = 0; at < runRows.length; at += insertBatch) {
        await own.insertRuns(
          trx,
          at === 0 && runRows.length <= insertBatch ? runRows : runRows.slice(at, at + insertBatch),
        );
      }
      // A new id has no tags to replace: only tags given cost a statement.
      if (invocation.tags.length > 0) await replaceTags(trx, 'invocation', invocation.id, invocation.tags);
      // A sent file names no command.
      if (!invocation.file) await own.countCommandInvoke(trx, invocation.commandId);
      await own.countInstanceInvokes(trx, instanceIds, invocation.createdAtMs);
      return { ...invocation, seq: Number(row.seq) };
    });
  }

  const repo: InvocationRepo = {
    ...runUpdates(db, queries.runs, rows, undefined, events),
    ...runDelivery(db, queries.delivery),
    ...runOutput(db, queries.output, rows),
    ...invocationListings(db, queries.listings),
    ...runChanges(db),

    async create(invocation, initialRuns, quota) {
      const instanceIds = initialRuns.map((run) => run.instanceId);
      const atMs = invocation.createdAtMs;
      const runRows = initialRuns.map((run) => {
        const row = runRow(
          { invokeId: invocation.id, instanceId: run.instanceId, execution: 0 },
          newRun(0, run.status, false, atMs),
          atMs,
          run,
        );
        // Only a rolling run's rows name the column: InvokeCommand's insert is otherwise unchanged.
        return run.held === undefined ? row : { ...row, held: run.held ? 1 : 0 };
      });
      // PostgreSQL: one statement (invocation-insert.ts); tags (rare) take the transaction below.
      const oneStatement =
        dialect === 'postgres' && invocation.tags.length === 0 && runRows.length > 0 && sameRunShape(runRows);
      const created = oneStatement
        ? await createInOneStatement(invocation, runRows, instanceIds, quota)
        : await createInTransaction(invocation, runRows, instanceIds, quota);
      // Rows born final (Invalid: an agent too old, a script unfit for a container) end here.
      if (created && queries.runs.endListeners.size > 0) {
        for (const run of initialRuns) {
          if (!isFinal(run.status)) continue;
          const ended = { status: run.status, startTimeMs: 0, finishTimeMs: created.createdAtMs };
          for (const listener of queries.runs.endListeners) listener(ended);
        }
      }
      return created;
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

    inOneTransaction(work) {
      if (db.isTransaction) return work(repo);
      const inner = openScope(queries.runs);
      return db
        .transaction()
        .execute(async (trx) => {
          // Only the two writes a burst makes: a whole repo a transaction cost 25-30 µs to build.
          const writes: RunWrites = {
            ...runUpdates(trx, queries.runs, inner.rows, inner, events),
            ...runOutput(trx, queries.output, inner.rows),
          };
          const result = await work(writes);
          await closeScope(trx, queries.runs, inner, events, Date.now());
          return result;
        })
        .then((result) => {
          announceReleased(queries.runs, inner.released);
          return result;
        });
    },

    onReleased(listener) {
      queries.runs.releaseListeners.add(listener);
    },

    onRunEnded(listener) {
      queries.runs.endListeners.add(listener);
    },

    async cancelHeld(invokeId, instanceIds, atMs) {
      return inTransaction(db, async (trx) => {
        // The invocation's row first (locked on PostgreSQL): no release runs meanwhile.
        const [head] = (await queries.runs.invocationHead(trx, invokeId)).rows;
        if (!head) return 0;
        const cancelled = await cancelHeldRows(trx, invokeId, instanceIds, atMs, false, events);
        if (cancelled > 0)
          await refreshAggregate(trx, queries.runs, invokeId, head.invocation_status, events, atMs);
        return cancelled;
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
        await trx.deleteFrom('output_deliveries').where('invoke_id', 'in', ids).execute();
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
