import { type Insertable, type Kysely, type Selectable, sql } from 'kysely';
import type { CommandType } from '../../domain/command.js';
import type { Invocation, InvocationInstance, RepeatMode, TerminationMode } from '../../domain/invocation.js';
import type { RunPatch } from '../../domain/invocation-state.js';
import {
  aggregateStatus,
  type InstanceStatus,
  type InvocationStatus,
} from '../../domain/invocation-status.js';
import { placeChunk } from '../../domain/output-placement.js';
import type { Tag } from '../../domain/tags.js';
import { maxOutputChunkBytes } from '../../protocol/messages.js';
import type { InvocationInstanceTable, InvocationTable, Schema } from '../schema.js';
import type { InvocationRepo, InvocationResult, RunKey } from '../store.js';
import { paginate, preparedPages, tagCondition } from './paging.js';
import { prepared } from './prepared.js';
import { replaceTags, tagsOf } from './tags.js';

const toInvocation = (row: Selectable<InvocationTable>, tags: Tag[]): Invocation => ({
  seq: Number(row.seq),
  id: row.id,
  regionId: row.region_id,
  commandId: row.command_id,
  commandName: row.command_name,
  commandType: row.command_type as CommandType,
  commandDescription: row.command_description,
  contentBase64: row.content_base64,
  parameters: JSON.parse(row.parameters) as Record<string, string>,
  repeatMode: row.repeat_mode as RepeatMode,
  frequency: row.frequency,
  timeoutSeconds: row.timeout_seconds,
  username: row.username,
  windowsPasswordName: row.windows_password_name,
  workingDir: row.working_dir,
  launcher: row.launcher,
  containerId: row.container_id,
  containerName: row.container_name,
  terminationMode: row.termination_mode as TerminationMode,
  resourceGroupId: row.resource_group_id,
  clientToken: row.client_token,
  status: row.invocation_status as InvocationStatus,
  createdAtMs: Number(row.created_at),
  tags,
});

const toRun = (row: Selectable<InvocationInstanceTable>): InvocationInstance => ({
  invokeId: row.invoke_id,
  instanceId: row.instance_id,
  execution: Number(row.execution),
  repeats: Number(row.repeats),
  scheduledAtMs: Number(row.scheduled_at),
  status: row.status as InstanceStatus,
  errorCode: row.error_code,
  errorInfo: row.error_info,
  exitCode: row.exit_code === null ? null : Number(row.exit_code),
  outputBytes: Number(row.output_bytes),
  droppedBytes: Number(row.dropped_bytes),
  delivered: row.delivered === 1,
  createdAtMs: Number(row.created_at),
  startTimeMs: Number(row.start_time),
  finishTimeMs: Number(row.finish_time),
  stopTimeMs: Number(row.stop_time),
  updateTimeMs: Number(row.update_time),
});

// Columns of a run, prefixed so they can sit beside the invocation's in one joined row.
const runColumns = [
  'ii.seq as run_seq',
  'ii.invoke_id as run_invoke_id',
  'ii.instance_id as run_instance_id',
  'ii.execution as run_execution',
  'ii.repeats as run_repeats',
  'ii.scheduled_at as run_scheduled_at',
  'ii.status as run_status',
  'ii.error_code as run_error_code',
  'ii.error_info as run_error_info',
  'ii.exit_code as run_exit_code',
  'ii.output_bytes as run_output_bytes',
  'ii.dropped_bytes as run_dropped_bytes',
  'ii.delivered as run_delivered',
  'ii.created_at as run_created_at',
  'ii.start_time as run_start_time',
  'ii.finish_time as run_finish_time',
  'ii.stop_time as run_stop_time',
  'ii.update_time as run_update_time',
] as const;

type Joined = Selectable<InvocationTable> & Record<string, unknown>;

const runOf = (row: Joined): InvocationInstance =>
  toRun({
    seq: row.run_seq as number,
    invoke_id: row.run_invoke_id as string,
    instance_id: row.run_instance_id as string,
    execution: row.run_execution as number,
    repeats: row.run_repeats as number,
    scheduled_at: row.run_scheduled_at as number,
    status: row.run_status as string,
    error_code: row.run_error_code as string,
    error_info: row.run_error_info as string,
    exit_code: row.run_exit_code as number | null,
    output_bytes: row.run_output_bytes as number,
    dropped_bytes: row.run_dropped_bytes as number,
    delivered: Number(row.run_delivered),
    created_at: row.run_created_at as number,
    start_time: row.run_start_time as number,
    finish_time: row.run_finish_time as number,
    stop_time: row.run_stop_time as number,
    update_time: row.run_update_time as number,
  });

/** What `inOneTransaction` keeps for the writes inside it. */
interface TransactionScope {
  /** Invocations whose aggregate status may have changed: refreshed once, before the commit. */
  readonly staleAggregates: Set<string>;
  /** Invocation rows already read (and on PostgreSQL locked) in this transaction: read once. */
  readonly invocations: Map<string, InvocationHead>;
  /**
   * SQLite only (its transactions run one at a time): result rows read in this transaction, with
   * their changes, each written once before the commit instead of once per event.
   */
  readonly rows: Map<string, StagedRow> | undefined;
}

/** A result row as this transaction sees it, and the columns it changed and has not written yet. */
interface StagedRow {
  row: Selectable<InvocationInstanceTable>;
  readonly columns: Partial<Selectable<InvocationInstanceTable>>;
  droppedBytes: number;
  dirty: boolean;
}

const stagedKey = (invokeId: string, instanceId: string, execution: number): string =>
  `${invokeId}/${instanceId}/${execution}`;

/** Applies changed columns (and dropped bytes to add) to a staged row, to be written later. */
function stage(
  staged: StagedRow,
  columns: Partial<Selectable<InvocationInstanceTable>>,
  droppedBytes: number,
): void {
  Object.assign(staged.columns, columns);
  staged.row = Object.assign({}, staged.row, columns, {
    dropped_bytes: Number(staged.row.dropped_bytes) + droppedBytes,
  });
  staged.droppedBytes += droppedBytes;
  staged.dirty = true;
}

async function writeStaged(trx: Kysely<Schema>, queries: HotQueries, staged: StagedRow): Promise<void> {
  if (!staged.dirty) return;
  await queries.setRun(trx, staged.row.seq, staged.columns, staged.droppedBytes);
}

/** The part of an invocation's row a run's update reads. */
interface InvocationHead {
  readonly repeat_mode: string;
  readonly invocation_status: string;
}

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

const runSeq = (row: Joined): number => Number(row.run_seq);

/** Runs beside their invocations' columns. */
const joined = (db: Kysely<Schema>) =>
  db.selectFrom('invocation_instances as ii').innerJoin('invocations', 'invocations.id', 'ii.invoke_id');

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

/** The statements of every InvokeCommand, agent report and result page, compiled once per store. */
function hotQueries(dialect: 'sqlite' | 'postgres') {
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
    insertInvocation: prepared((db, row: Insertable<InvocationTable>) =>
      db.insertInto('invocations').values(row).returning('seq'),
    ),
    insertRuns: prepared((db, rows: Insertable<InvocationInstanceTable>[]) =>
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
    undelivered: prepared((db, instanceId: string) =>
      joined(db)
        .selectAll('invocations')
        .select(runColumns)
        .where('ii.instance_id', '=', instanceId)
        .where('ii.status', '=', 'Pending')
        .where('ii.delivered', '=', 0)
        .orderBy('ii.seq'),
    ),
    // Rows of one invocation change one at a time: two runs finishing together on PostgreSQL
    // would otherwise each compute the aggregate without the other's change (write skew).
    // SQLite transactions are serial already.
    invocationHead: prepared((db, invokeId: string) =>
      db
        .selectFrom('invocations')
        .select(['repeat_mode', 'invocation_status'])
        .where('id', '=', invokeId)
        .$if(dialect === 'postgres', (q) => q.forUpdate()),
    ),
    run: prepared((db, invokeId: string, instanceId: string, execution: number) =>
      db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .where('instance_id', '=', instanceId)
        .where('execution', '=', execution),
    ),
    insertChunk: prepared((db, chunk: Insertable<Schema['output_chunks']>) =>
      db.insertInto('output_chunks').values(chunk),
    ),
    // A run's changed columns (each set of columns compiles once), its dropped bytes added.
    setRun: prepared(
      (db, seq: number, columns: Partial<Selectable<InvocationInstanceTable>>, addDropped: number) =>
        db
          .updateTable('invocation_instances')
          .set({ ...columns, dropped_bytes: sql<number>`dropped_bytes + ${addDropped}` })
          .where('seq', '=', seq),
    ),
    statuses: prepared((db, invokeId: string) =>
      db
        .selectFrom('invocation_instances')
        .select('status')
        .where('invoke_id', '=', invokeId)
        .where('execution', '=', 0),
    ),
    setAggregate: prepared((db, invokeId: string, status: string) =>
      db
        .updateTable('invocations')
        .set({ invocation_status: status })
        .where('id', '=', invokeId)
        .where('invocation_status', '!=', status),
    ),
    newestResults: preparedPages(
      (db, filter: ResultFilter) => resultQuery(db, filter, false),
      'ii.seq',
      runSeq,
    ),
    everyResult: preparedPages((db, filter: ResultFilter) => resultQuery(db, filter, true), 'ii.seq', runSeq),
    // Each run's chunks from `from` up to `to`.
    chunks: prepared(
      (db, ranges: { invokeId: string; instanceId: string; execution: number; from: number; to: number }[]) =>
        db
          .selectFrom('output_chunks')
          .select(['invoke_id', 'instance_id', 'execution', 'byte_offset', 'data'])
          .where((eb) =>
            eb.or(
              ranges.map((range) =>
                eb.and([
                  eb('invoke_id', '=', range.invokeId),
                  eb('instance_id', '=', range.instanceId),
                  eb('execution', '=', range.execution),
                  eb('byte_offset', '>=', range.from),
                  eb('byte_offset', '<', range.to),
                ]),
              ),
            ),
          )
          .orderBy('byte_offset'),
    ),
    invocations: prepared((db, ids: string[]) =>
      db.selectFrom('invocations').selectAll().where('id', 'in', ids),
    ),
  };
}

type HotQueries = ReturnType<typeof hotQueries>;

/** A run's key from its row (PostgreSQL returns bigints as strings). */
const runKeyOf = (row: { invoke_id: string; instance_id: string; execution: number | string }): RunKey => ({
  invokeId: row.invoke_id,
  instanceId: row.instance_id,
  execution: Number(row.execution),
});

export function invocationRepo(
  db: Kysely<Schema>,
  dialect: 'sqlite' | 'postgres',
  scope?: TransactionScope,
  queries: HotQueries = hotQueries(dialect),
): InvocationRepo {
  async function withTags(rows: Selectable<InvocationTable>[]): Promise<Invocation[]> {
    const tags = await tagsOf(
      db,
      'invocation',
      rows.map((row) => row.id),
    );
    return rows.map((row) => toInvocation(row, tags.get(row.id) ?? []));
  }

  async function joinedResults(rows: Joined[]): Promise<InvocationResult[]> {
    const tags = await tagsOf(db, 'invocation', [...new Set(rows.map((row) => row.id))]);
    return rows.map((row) => ({ invocation: toInvocation(row, tags.get(row.id) ?? []), run: runOf(row) }));
  }

  /** Runs with their invocations, each invocation (and its tags) read once however many runs it has. */
  async function withInvocations(runRows: Joined[]): Promise<InvocationResult[]> {
    const ids = [...new Set(runRows.map((row) => row.run_invoke_id as string))];
    const rows = ids.length === 0 ? [] : (await queries.invocations(db, ids)).rows;
    const byId = new Map((await withTags(rows)).map((invocation) => [invocation.id, invocation]));
    // A run whose invocation was purged between the two reads is left out.
    return runRows.flatMap((row) => {
      const invocation = byId.get(row.run_invoke_id as string);
      return invocation ? [{ invocation, run: runOf(row) }] : [];
    });
  }

  const repo: InvocationRepo = {
    async create(invocation, initialRuns, quota) {
      const instanceIds = initialRuns.map((run) => run.instanceId);
      return db.transaction().execute(async (trx) => {
        if (quota) {
          const [counted] = (await queries.countToward(trx, invocation.regionId, quota.utcDay, quota.limit))
            .rows;
          if (!counted || Number(counted.used) > quota.limit) return undefined;
        }
        const [row] = (
          await queries.insertInvocation(trx, {
            id: invocation.id,
            region_id: invocation.regionId,
            command_id: invocation.commandId,
            command_name: invocation.commandName,
            command_type: invocation.commandType,
            command_description: invocation.commandDescription,
            content_base64: invocation.contentBase64,
            parameters: JSON.stringify(invocation.parameters),
            repeat_mode: invocation.repeatMode,
            frequency: invocation.frequency,
            timeout_seconds: invocation.timeoutSeconds,
            username: invocation.username,
            windows_password_name: invocation.windowsPasswordName,
            working_dir: invocation.workingDir,
            launcher: invocation.launcher,
            container_id: invocation.containerId,
            container_name: invocation.containerName,
            termination_mode: invocation.terminationMode,
            resource_group_id: invocation.resourceGroupId,
            client_token: invocation.clientToken,
            invocation_status: invocation.status,
            created_at: invocation.createdAtMs,
          })
        ).rows;
        if (!row) throw new Error(`invocation ${invocation.id} was not stored`);
        await queries.insertRuns(
          trx,
          initialRuns.map((run) => ({
            ...newRow(invocation.id, run.instanceId, 0, invocation.createdAtMs),
            status: run.status,
            error_code: run.errorCode,
            error_info: run.errorInfo,
            finish_time: run.status === 'Invalid' ? invocation.createdAtMs : 0,
          })),
        );
        // A new id has no tags to replace: only tags given cost a statement.
        if (invocation.tags.length > 0) await replaceTags(trx, 'invocation', invocation.id, invocation.tags);
        await queries.countCommandInvoke(trx, invocation.commandId);
        await queries.countInstanceInvokes(trx, instanceIds, invocation.createdAtMs);
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
      const rows = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .where('execution', '=', 0)
        .orderBy('seq')
        .execute();
      return rows.map(toRun);
    },

    async latestExecutions(invokeIds) {
      if (invokeIds.length === 0) return new Map();
      const rows = await db
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
      return new Map(rows.map((row) => [`${row.invoke_id}/${row.instance_id}`, toRun(row)]));
    },

    async liveRuns(invokeId, instanceId) {
      const rows = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .where('instance_id', '=', instanceId)
        .where('status', 'in', ['Pending', 'Scheduled', 'Running', 'Stopping'])
        .orderBy('execution', 'desc')
        .execute();
      return rows.map(toRun);
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
      const result = await paginate(query, 'seq', page, (row: Selectable<InvocationTable>) =>
        Number(row.seq),
      );
      return { ...result, items: await withTags(result.items) };
    },

    async listResults(filter, page) {
      const pages = filter.includeHistory ? queries.everyResult : queries.newestResults;
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

    async undelivered(instanceId) {
      const { rows } = await queries.undelivered(db, instanceId);
      // A task carries no tags: no query for them on every delivery.
      return (rows as Joined[]).map((row) => ({ invocation: toInvocation(row, []), run: runOf(row) }));
    },

    async withWork(instanceIds) {
      if (instanceIds.length === 0) return [];
      const rows = await db
        .selectFrom('invocation_instances')
        .select('instance_id')
        .distinct()
        .where('instance_id', 'in', instanceIds)
        .where((eb) =>
          eb.or([
            eb.and([eb('status', '=', 'Pending'), eb('delivered', '=', 0)]),
            eb('status', '=', 'Stopping'),
          ]),
        )
        .execute();
      return rows.map((row) => row.instance_id);
    },

    async stopping(instanceId) {
      const rows = await joined(db)
        .selectAll('invocations')
        .select(runColumns)
        .where('ii.instance_id', '=', instanceId)
        .where('ii.status', '=', 'Stopping')
        .orderBy('ii.seq')
        .execute();
      return joinedResults(rows as Joined[]);
    },

    inOneTransaction(work) {
      if (db.isTransaction) return work(repo);
      return db.transaction().execute(async (trx) => {
        const inner: TransactionScope = {
          staleAggregates: new Set(),
          invocations: new Map(),
          rows: dialect === 'sqlite' ? new Map() : undefined,
        };
        const result = await work(invocationRepo(trx, dialect, inner, queries));
        // Rows first: the aggregate is computed from what they hold.
        for (const staged of inner.rows?.values() ?? []) await writeStaged(trx, queries, staged);
        for (const invokeId of inner.staleAggregates) await refreshAggregate(trx, queries, invokeId);
        return result;
      });
    },

    async updateRun(key, change, atMs, options = {}) {
      return inTransaction(db, async (trx) => {
        const invocation =
          scope?.invocations.get(key.invokeId) ?? (await queries.invocationHead(trx, key.invokeId)).rows[0];
        if (!invocation) return undefined;
        // Its status is compared only outside a scope; the mode never changes.
        scope?.invocations.set(key.invokeId, invocation);
        const mode = invocation.repeat_mode as RepeatMode;
        const rowOf = async (execution: number) => {
          const cached = scope?.rows?.get(stagedKey(key.invokeId, key.instanceId, execution));
          if (cached) return cached.row;
          const [read] = (await queries.run(trx, key.invokeId, key.instanceId, execution)).rows;
          if (read) scope?.rows?.set(stagedKey(key.invokeId, key.instanceId, execution), unchanged(read));
          return read;
        };
        // Inside a SQLite scope a change is staged and written once at the end; else written now.
        const write = (execution: number, seq: number, rowPatch: RunPatch) => {
          const staged = scope?.rows?.get(stagedKey(key.invokeId, key.instanceId, execution));
          if (!staged) return queries.setRun(trx, seq, columnsOf(rowPatch, atMs), rowPatch.droppedBytes ?? 0);
          stage(staged, columnsOf(rowPatch, atMs), rowPatch.droppedBytes ?? 0);
          return Promise.resolve();
        };
        let row = await rowOf(key.execution);
        const standingRow = key.execution > 0 ? await rowOf(0) : undefined;
        if (!row && options.create && standingRow && mode === 'Period') {
          // A run the agent's schedule started: it exists from its first report on.
          await trx
            .insertInto('invocation_instances')
            .values({ ...newRow(key.invokeId, key.instanceId, key.execution, atMs), delivered: 1 })
            .onConflict((oc) => oc.doNothing())
            .execute();
          row = await rowOf(key.execution);
        }
        if (!row) return undefined;
        const current = toRun(row);
        const patch = change(current, mode);
        if (!patch) return current;
        await write(key.execution, row.seq, patch);
        const updated: InvocationInstance = Object.assign({}, current, patch, { updateTimeMs: atMs });
        let statusChanged = patch.status !== undefined;
        if (standingRow && options.follow) {
          const startedNow = current.startTimeMs === 0 && (patch.startTimeMs ?? 0) > 0;
          const progress = { status: updated.status, started: updated.startTimeMs > 0, startedNow };
          const follow = options.follow(toRun(standingRow), progress, mode);
          if (follow) {
            await write(0, standingRow.seq, follow);
            statusChanged ||= follow.status !== undefined;
          }
        }
        if (statusChanged && scope) scope.staleAggregates.add(key.invokeId);
        else if (statusChanged)
          await refreshAggregate(trx, queries, key.invokeId, invocation.invocation_status);
        return updated;
      });
    },

    async appendOutput(key, offset, data, maxBytes) {
      const { invokeId, instanceId, execution } = key;
      const staging = scope?.rows;
      if (staging) return appendStaged(db, queries, staging, key, offset, data, maxBytes);
      return inTransaction(db, async (trx) => {
        const row = await trx
          .selectFrom('invocation_instances')
          .select(['seq', 'output_bytes', 'dropped_bytes'])
          .where('invoke_id', '=', invokeId)
          .where('instance_id', '=', instanceId)
          .where('execution', '=', execution)
          .$if(dialect === 'postgres', (q) => q.forUpdate())
          .executeTakeFirst();
        if (!row) return 0;
        const stored = Number(row.output_bytes);
        const place = placeChunk(
          { storedBytes: stored, droppedBytes: Number(row.dropped_bytes) },
          offset,
          data.length,
          maxBytes,
        );
        if (!place) return stored;
        const kept = data.subarray(place.from, place.to);
        if (kept.length > 0) {
          await trx
            .insertInto('output_chunks')
            .values({
              invoke_id: invokeId,
              instance_id: instanceId,
              execution,
              byte_offset: stored,
              data: kept,
            })
            .execute();
        }
        await trx
          .updateTable('invocation_instances')
          .set({
            output_bytes: stored + kept.length,
            dropped_bytes: sql<number>`dropped_bytes + ${place.droppedBytes}`,
          })
          .where('seq', '=', row.seq)
          .execute();
        return stored + kept.length;
      });
    },

    async outputTail(key, maxBytes) {
      const { invokeId, instanceId, execution } = key;
      const run = await db
        .selectFrom('invocation_instances')
        .select('output_bytes')
        .where('invoke_id', '=', invokeId)
        .where('instance_id', '=', instanceId)
        .where('execution', '=', execution)
        .executeTakeFirst();
      const total = Number(run?.output_bytes ?? 0);
      if (total === 0) return Buffer.alloc(0);
      const from = tailStart(total, maxBytes);
      const chunks = await db
        .selectFrom('output_chunks')
        .select(['byte_offset', 'data'])
        .where('invoke_id', '=', invokeId)
        .where('instance_id', '=', instanceId)
        .where('execution', '=', execution)
        .where('byte_offset', '>=', from)
        .orderBy('byte_offset')
        .execute();
      const joinedBytes = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data)));
      return joinedBytes.subarray(Math.max(0, joinedBytes.length - maxBytes));
    },

    async outputTails(runs, maxBytes) {
      const withOutput = runs.filter((run) => run.outputBytes > 0);
      if (withOutput.length === 0) return runs.map(() => Buffer.alloc(0));
      // One query for the page: each run's chunks from where its tail can start up to what its row
      // counted (output appended since is not part of the row being shown).
      const { rows: chunks } = await queries.chunks(
        db,
        withOutput.map((run) => ({
          invokeId: run.invokeId,
          instanceId: run.instanceId,
          execution: run.execution,
          from: tailStart(run.outputBytes, maxBytes),
          to: run.outputBytes,
        })),
      );
      const byRun = new Map<string, Buffer[]>();
      for (const chunk of chunks) {
        const key = runKeyText(chunk.invoke_id, chunk.instance_id, Number(chunk.execution));
        const list = byRun.get(key) ?? [];
        list.push(Buffer.from(chunk.data));
        byRun.set(key, list);
      }
      return runs.map((run) =>
        lastBytes(byRun.get(runKeyText(run.invokeId, run.instanceId, run.execution)) ?? [], maxBytes),
      );
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
      const rows = await db
        .selectFrom('invocation_instances')
        .selectAll()
        .where('invoke_id', '=', invokeId)
        .$if(instanceId !== undefined, (q) => q.where('instance_id', '=', instanceId ?? ''))
        .orderBy('instance_id')
        .orderBy('execution')
        .execute();
      return rows.map(toRun);
    },

    async outputRange(key, offset, maxBytes) {
      const { invokeId, instanceId, execution } = key;
      const ofRun = () =>
        db
          .selectFrom('output_chunks')
          .where('invoke_id', '=', invokeId)
          .where('instance_id', '=', instanceId)
          .where('execution', '=', execution);
      // The chunk holding `offset` is the last one starting at or before it (chunks are contiguous).
      const first = await ofRun()
        .select(({ fn }) => fn.max('byte_offset').as('start'))
        .where('byte_offset', '<=', offset)
        .executeTakeFirst();
      if (first?.start === null || first?.start === undefined) return Buffer.alloc(0);
      const start = Number(first.start);
      const chunks = await ofRun()
        .select(['byte_offset', 'data'])
        .where('byte_offset', '>=', start)
        .where('byte_offset', '<', offset + maxBytes)
        .orderBy('byte_offset')
        .execute();
      const bytes = Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data)));
      return bytes.subarray(offset - start, offset - start + maxBytes);
    },

    async overdue(beforeMs) {
      // update_time: a reboot task waits from the boot that armed it, not from its creation.
      const rows = await db
        .selectFrom('invocation_instances')
        .select(['invoke_id', 'instance_id', 'execution'])
        .where('status', '=', 'Pending')
        .where('delivered', '=', 0)
        .where('update_time', '<', beforeMs)
        .limit(1000)
        .execute();
      return rows.map(runKeyOf);
    },

    async deliveredRuns(instanceId) {
      const rows = await joined(db)
        .select(['ii.invoke_id', 'ii.execution'])
        .where('ii.instance_id', '=', instanceId)
        .where('ii.status', 'in', ['Pending', 'Running', 'Stopping'])
        .where('ii.delivered', '=', 1)
        .where((eb) =>
          eb.or([
            eb('ii.execution', '>', 0),
            eb('invocations.repeat_mode', 'not in', ['Period', 'EveryReboot']),
          ]),
        )
        .execute();
      return rows.map((row) => ({ invokeId: row.invoke_id, instanceId, execution: Number(row.execution) }));
    },

    async pastDeadline(nowMs, graceMs) {
      const rows = await joined(db)
        .select(['ii.invoke_id', 'ii.instance_id', 'ii.execution'])
        .where('ii.status', 'in', ['Running', 'Stopping'])
        .where('ii.start_time', '>', 0)
        .where(
          (eb) => eb('ii.start_time', '+', eb('invocations.timeout_seconds', '*', 1000)),
          '<',
          nowMs - graceMs,
        )
        .where((eb) =>
          eb.or([
            eb('ii.execution', '>', 0),
            eb('invocations.repeat_mode', 'not in', ['Period', 'EveryReboot']),
          ]),
        )
        .limit(1000)
        .execute();
      return rows.map(runKeyOf);
    },

    async purgeEndedBefore(beforeMs, limit) {
      return db.transaction().execute(async (trx) => {
        const ended = await trx
          .selectFrom('invocations')
          .select('id')
          .where('created_at', '<', beforeMs)
          .where('invocation_status', 'in', ['Success', 'Failed', 'Stopped', 'PartialFailed'])
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

    async activeCount(instanceId) {
      // Distinct invocations: row 0 of a schedule is Running while its run is.
      const row = await db
        .selectFrom('invocation_instances')
        .select(sql<number>`count(distinct invoke_id)`.as('n'))
        .where('instance_id', '=', instanceId)
        .where((eb) =>
          eb.or([
            eb('status', 'in', ['Running', 'Stopping']),
            eb.and([eb('status', '=', 'Pending'), eb('delivered', '=', 1)]),
          ]),
        )
        .executeTakeFirstOrThrow();
      return Number(row.n);
    },

    async armForBoot(instanceId, atMs) {
      return db.transaction().execute(async (trx) => {
        const waiting = await trx
          .selectFrom('invocation_instances as ii')
          .innerJoin('invocations', 'invocations.id', 'ii.invoke_id')
          .select(['ii.seq', 'ii.invoke_id', 'invocations.repeat_mode'])
          .where('ii.instance_id', '=', instanceId)
          .where('ii.execution', '=', 0)
          .where((eb) =>
            eb.or([
              eb.and([
                eb('invocations.repeat_mode', '=', 'NextRebootOnly'),
                eb('ii.status', '=', 'Scheduled'),
              ]),
              eb.and([
                eb('invocations.repeat_mode', '=', 'EveryReboot'),
                eb('ii.status', 'in', ['Scheduled', 'Running']),
              ]),
            ]),
          )
          .execute();
        for (const task of waiting) {
          if (task.repeat_mode === 'NextRebootOnly') {
            await trx
              .updateTable('invocation_instances')
              .set({ status: 'Pending', update_time: atMs })
              .where('seq', '=', task.seq)
              .execute();
            await trx
              .updateTable('invocations')
              .set({ invocation_status: 'Pending' })
              .where('id', '=', task.invoke_id)
              .execute();
            continue;
          }
          const newest = await trx
            .selectFrom('invocation_instances')
            .select(({ fn }) => fn.max('execution').as('n'))
            .where('invoke_id', '=', task.invoke_id)
            .where('instance_id', '=', instanceId)
            .executeTakeFirst();
          const execution = Number(newest?.n ?? 0) + 1;
          await trx
            .insertInto('invocation_instances')
            .values(newRow(task.invoke_id, instanceId, execution, atMs))
            .execute();
        }
        return waiting.length;
      });
    },

    async activeSchedules(instanceId) {
      const rows = await db
        .selectFrom('invocation_instances as ii')
        .innerJoin('invocations', 'invocations.id', 'ii.invoke_id')
        .select(['ii.invoke_id', 'ii.delivered'])
        .where('ii.instance_id', '=', instanceId)
        .where('ii.execution', '=', 0)
        .where('invocations.repeat_mode', '=', 'Period')
        .where('ii.status', 'in', ['Pending', 'Scheduled', 'Running', 'Stopping'])
        .execute();
      return rows.map((row) => ({ invokeId: row.invoke_id, delivered: Number(row.delivered) === 1 }));
    },

    async redeliver(instanceId, invokeIds, atMs) {
      if (invokeIds.length === 0) return;
      await db
        .updateTable('invocation_instances')
        .set({ delivered: 0, status: 'Pending', update_time: atMs })
        .where('instance_id', '=', instanceId)
        .where('execution', '=', 0)
        .where('invoke_id', 'in', invokeIds)
        .where('status', 'in', ['Scheduled', 'Running'])
        .execute();
    },
  };
  return repo;
}

/**
 * Recomputes an invocation's aggregate status from its rows 0. Most runs of a wide invocation
 * change their own status, not the invocation's: the row is written only when it changes.
 */
async function refreshAggregate(
  trx: Kysely<Schema>,
  queries: HotQueries,
  invokeId: string,
  current?: string,
): Promise<void> {
  const statuses = (await queries.statuses(trx, invokeId)).rows;
  const aggregate = aggregateStatus(statuses.map((s) => s.status as InstanceStatus));
  if (aggregate === current) return;
  await queries.setAggregate(trx, invokeId, aggregate);
}

/** Runs `work` in a transaction of its own, or in the one `db` already is. */
function inTransaction<T>(db: Kysely<Schema>, work: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}

// A chunk is at most one protocol chunk long, so a tail starts in a chunk beginning at most that far before it.
const tailStart = (totalBytes: number, maxBytes: number): number =>
  Math.max(0, totalBytes - maxBytes - maxOutputChunkBytes);

const runKeyText = (invokeId: string, instanceId: string, execution: number): string =>
  `${invokeId}/${instanceId}/${execution}`;

/** The last `maxBytes` of contiguous chunks. */
function lastBytes(chunks: readonly Buffer[], maxBytes: number): Buffer {
  const joinedBytes = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  return joinedBytes.subarray(Math.max(0, joinedBytes.length - maxBytes));
}

/** A new result row: Pending, undelivered, nothing run yet; run n counts itself as its repeats. */
function newRow(invokeId: string, instanceId: string, execution: number, atMs: number) {
  return {
    invoke_id: invokeId,
    instance_id: instanceId,
    execution,
    status: 'Pending',
    error_code: '',
    error_info: '',
    exit_code: null,
    output_bytes: 0,
    dropped_bytes: 0,
    delivered: 0,
    repeats: execution,
    created_at: atMs,
    start_time: 0,
    finish_time: 0,
    stop_time: 0,
    update_time: atMs,
  };
}

const unchanged = (row: Selectable<InvocationInstanceTable>): StagedRow => ({
  row,
  columns: {},
  droppedBytes: 0,
  dirty: false,
});

/** appendOutput inside a SQLite scope: the row read once and written once for the whole burst. */
async function appendStaged(
  trx: Kysely<Schema>,
  queries: HotQueries,
  rows: Map<string, StagedRow>,
  key: { invokeId: string; instanceId: string; execution: number },
  offset: number,
  data: Buffer,
  maxBytes: number,
): Promise<number> {
  const { invokeId, instanceId, execution } = key;
  let staged = rows.get(stagedKey(invokeId, instanceId, execution));
  if (!staged) {
    const [read] = (await queries.run(trx, invokeId, instanceId, execution)).rows;
    if (!read) return 0;
    staged = unchanged(read);
    rows.set(stagedKey(invokeId, instanceId, execution), staged);
  }
  const stored = Number(staged.row.output_bytes);
  const place = placeChunk(
    { storedBytes: stored, droppedBytes: Number(staged.row.dropped_bytes) },
    offset,
    data.length,
    maxBytes,
  );
  if (!place) return stored;
  const kept = data.subarray(place.from, place.to);
  if (kept.length > 0) {
    await queries.insertChunk(trx, {
      invoke_id: invokeId,
      instance_id: instanceId,
      execution,
      byte_offset: stored,
      data: kept,
    });
  }
  stage(staged, { output_bytes: stored + kept.length }, place.droppedBytes);
  return stored + kept.length;
}

/** The columns a patch sets (dropped bytes aside: they are added, not set). */
function columnsOf(patch: RunPatch, atMs: number): Partial<Selectable<InvocationInstanceTable>> {
  // Set one by one: conditional spreads cost more than the rest of applying an agent's report.
  const columns: Partial<Selectable<InvocationInstanceTable>> = { update_time: atMs };
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.delivered !== undefined) columns.delivered = patch.delivered ? 1 : 0;
  if (patch.repeats !== undefined) columns.repeats = patch.repeats;
  if (patch.scheduledAtMs !== undefined) columns.scheduled_at = patch.scheduledAtMs;
  if (patch.startTimeMs !== undefined) columns.start_time = patch.startTimeMs;
  if (patch.finishTimeMs !== undefined) columns.finish_time = patch.finishTimeMs;
  if (patch.stopTimeMs !== undefined) columns.stop_time = patch.stopTimeMs;
  if (patch.exitCode !== undefined) columns.exit_code = patch.exitCode;
  if (patch.errorCode !== undefined) columns.error_code = patch.errorCode;
  if (patch.errorInfo !== undefined) columns.error_info = patch.errorInfo;
  return columns;
}
