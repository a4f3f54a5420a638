import { type Insertable, type Kysely, sql } from 'kysely';
import { nextAggregate } from '../../domain/invocation-status.js';
import type { RollingLimits } from '../../domain/rolling-run.js';
import type { InvocationInstanceTable, OutputChunkTable, Schema } from '../schema.js';
import type { EndedRun, RunKey } from '../store.js';
import { instanceStatus, invocationStatus, type RunRow, runKeyText } from './invocation-rows.js';
import { prepared } from './prepared.js';
import { type ReleaseListener, releaseHeld } from './rolling-release.js';
import type { EventRecorder } from './webhooks.js';

/**
 * How the store changes runs inside a transaction: it reads (and on PostgreSQL locks) the rows,
 * asks the domain's pure functions what they become, and writes that. The store calls the domain
 * itself, inside its own transaction, instead of the service holding a transaction open across
 * several round trips: the decision stays in the domain, the locks stay short.
 */

/** The row of one run, by its key: what each read of a run selects from. */
function runByKey(db: Kysely<Schema>, invokeId: string, instanceId: string, execution: number) {
  return db
    .selectFrom('invocation_instances')
    .where('invoke_id', '=', invokeId)
    .where('instance_id', '=', instanceId)
    .where('execution', '=', execution);
}

/** A run's changed columns (each set of columns compiles once), its dropped bytes added. */
const runChanges = (columns: Partial<RunRow>, addDropped: number) => ({
  ...columns,
  dropped_bytes: sql<number>`dropped_bytes + ${addDropped}`,
});

/** The statements that read, lock and write a run's rows and its invocation's aggregate, compiled once per store. */
export function runQueries(dialect: 'sqlite' | 'postgres') {
  return {
    dialect,
    /** Told of rolling runs released, after their commit (one set per store). */
    releaseListeners: new Set<ReleaseListener>(),
    /** Told of runs that reach a final status (one set per store: the metrics). */
    endListeners: new Set<(run: EndedRun) => void>(),
    // Rows of one invocation change one at a time: two runs finishing together on PostgreSQL
    // would otherwise each compute the aggregate without the other's change (write skew).
    // SQLite transactions are serial already.
    invocationHead: prepared((db, invokeId: string) =>
      db
        .selectFrom('invocations')
        .select(['repeat_mode', 'invocation_status', 'concurrency_limit', 'error_limit'])
        .where('id', '=', invokeId)
        .$if(dialect === 'postgres', (q) => q.forUpdate()),
    ),
    run: prepared((db, invokeId: string, instanceId: string, execution: number) =>
      runByKey(db, invokeId, instanceId, execution).selectAll(),
    ),
    // `invocationHead` and `lockedRun` in one round trip, locked on PostgreSQL in the same order
    // (the invocation's row first: the order of the FROM list), with the number of the invocation's
    // rows 0, fixed since InvokeCommand stored them all in one statement.
    headAndRun: prepared((db, invokeId: string, instanceId: string, execution: number) =>
      db
        .selectFrom('invocations')
        .innerJoin('invocation_instances as ii', 'ii.invoke_id', 'invocations.id')
        .select([
          'invocations.repeat_mode',
          'invocations.invocation_status',
          'invocations.concurrency_limit',
          'invocations.error_limit',
        ])
        .select((eb) =>
          eb
            .selectFrom('invocation_instances as zero')
            .select((count) => count.fn.countAll().as('n'))
            .whereRef('zero.invoke_id', '=', 'invocations.id')
            .where('zero.execution', '=', 0)
            .as('head_runs'),
        )
        .selectAll('ii')
        .where('invocations.id', '=', invokeId)
        .where('ii.instance_id', '=', instanceId)
        .where('ii.execution', '=', execution)
        .$if(dialect === 'postgres', (q) => q.forUpdate()),
    ),
    // The run's row read once for a whole transaction, locked on PostgreSQL until its commit.
    lockedRun: prepared((db, invokeId: string, instanceId: string, execution: number) =>
      runByKey(db, invokeId, instanceId, execution)
        .selectAll()
        .$if(dialect === 'postgres', (q) => q.forUpdate()),
    ),
    // What appending output reads; locked on PostgreSQL, where two appends to one run could
    // otherwise both store a chunk at the same offset.
    outputHead: prepared((db, invokeId: string, instanceId: string, execution: number) =>
      runByKey(db, invokeId, instanceId, execution)
        .select(['seq', 'output_bytes', 'dropped_bytes'])
        .$if(dialect === 'postgres', (q) => q.forUpdate()),
    ),
    // A run the agent reported first; two reports racing create it once.
    insertRun: prepared((db, row: Insertable<InvocationInstanceTable>) =>
      db
        .insertInto('invocation_instances')
        .values(row)
        .onConflict((oc) => oc.doNothing()),
    ),
    setRun: prepared((db, seq: number, columns: Partial<RunRow>, addDropped: number) =>
      db.updateTable('invocation_instances').set(runChanges(columns, addDropped)).where('seq', '=', seq),
    ),
    insertChunk: prepared((db, chunk: Insertable<OutputChunkTable>) =>
      db.insertInto('output_chunks').values(chunk),
    ),
    // PostgreSQL: a run's changed columns and the output chunks stored with them, one statement
    // (a data-modifying CTE, which SQLite does not have).
    setRunWithChunks: prepared(
      (
        db,
        seq: number,
        columns: Partial<RunRow>,
        addDropped: number,
        chunks: Insertable<OutputChunkTable>[],
      ) =>
        db
          .with('stored_chunks', (w) => w.insertInto('output_chunks').values(chunks))
          .updateTable('invocation_instances')
          .set(runChanges(columns, addDropped))
          .where('seq', '=', seq),
    ),
    // PostgreSQL, an invocation of one instance: its run's row, the output chunks stored with it
    // and the invocation's new aggregate (written only if it changes), one statement; answers
    // whether the aggregate changed.
    setRunAndAggregate: prepared(
      (
        db,
        seq: number,
        columns: Partial<RunRow>,
        addDropped: number,
        chunks: Insertable<OutputChunkTable>[],
        invokeId: string,
        aggregate: string,
      ) => {
        const withAggregate = db.with('aggregate', (w) =>
          w
            .updateTable('invocations')
            .set({ invocation_status: aggregate })
            .where('id', '=', invokeId)
            .where('invocation_status', '!=', aggregate)
            .returning('id'),
        );
        const write = (on: typeof withAggregate) =>
          on
            .updateTable('invocation_instances')
            .set(runChanges(columns, addDropped))
            .where('seq', '=', seq)
            .returning((eb) =>
              eb
                .selectFrom('aggregate')
                .select((count) => count.fn.countAll().as('n'))
                .as('aggregate_changed'),
            );
        if (chunks.length === 0) return write(withAggregate);
        // The chunks' CTE adds nothing the update reads: typed as the query without it.
        return write(
          withAggregate.with('stored_chunks', (w) =>
            w.insertInto('output_chunks').values(chunks),
          ) as unknown as typeof withAggregate,
        );
      },
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
  };
}

export type RunQueries = ReturnType<typeof runQueries>;

/** The columns appending output reads. */
export type OutputHead = Pick<RunRow, 'seq' | 'output_bytes' | 'dropped_bytes'>;

/** Where a transaction reads its runs' rows and sends their changes. */
export interface RunRows {
  read(trx: Kysely<Schema>, key: RunKey): Promise<RunRow | undefined>;
  readForOutput(trx: Kysely<Schema>, key: RunKey): Promise<OutputHead | undefined>;
  write(
    trx: Kysely<Schema>,
    key: RunKey,
    seq: number,
    columns: Partial<RunRow>,
    addDropped: number,
  ): Promise<void>;
  /** Stores an output chunk of the run (after `readForOutput`), now or with the run's row. */
  insertChunk(trx: Kysely<Schema>, key: RunKey, chunk: Insertable<OutputChunkTable>): Promise<void>;
  /**
   * Writes what is still held back, before the commit. `aggregates`: new aggregate statuses of
   * invocations of one instance, written with their changed row 0 where one statement can
   * (PostgreSQL); `changed` is set for each one written so.
   */
  flush(trx: Kysely<Schema>, aggregates?: ReadonlyMap<string, MergedAggregate>): Promise<void>;
  /**
   * The run's invocation head and its row, read together (both locked on PostgreSQL) when neither
   * was read yet; undefined when the row is held already, or either is missing: read them apart.
   */
  readWithHead(trx: Kysely<Schema>, key: RunKey): Promise<{ head: InvocationHead; row: RunRow } | undefined>;
  /** The invocation's row 0 as this transaction holds it (its changes applied), if it read it. */
  heldRowZero(invokeId: string): RunRow | undefined;
}

/** An invocation's aggregate status to write with its row 0; `changed` once written so. */
export interface MergedAggregate {
  readonly status: string;
  changed?: boolean;
}

/** Each read a statement, each change written at once (rows locked as `runQueries` says). */
export function directRows(queries: RunQueries): RunRows {
  return {
    read: async (trx, key) => (await queries.run(trx, key.invokeId, key.instanceId, key.execution)).rows[0],
    readForOutput: async (trx, key) =>
      (await queries.outputHead(trx, key.invokeId, key.instanceId, key.execution)).rows[0],
    async write(trx, _key, seq, columns, addDropped) {
      await queries.setRun(trx, seq, columns, addDropped);
    },
    async insertChunk(trx, _key, chunk) {
      await queries.insertChunk(trx, chunk);
    },
    flush: async () => undefined,
    readWithHead: async () => undefined,
    heldRowZero: () => undefined,
  };
}

/** A row as the transaction sees it, and the columns it changed and has not written yet. */
interface StagedRow {
  row: RunRow;
  readonly columns: Partial<RunRow>;
  droppedBytes: number;
  dirty: boolean;
  /** Output chunks to store with the row (PostgreSQL). */
  readonly chunks: Insertable<OutputChunkTable>[];
}

/**
 * Each row read once and written once, at the end, however many events of a burst change it. Nobody
 * else can change a row between the read and the write: SQLite runs transactions one at a time,
 * and PostgreSQL's first read locks the row until the commit. The locks are the ones direct rows
 * take, in the same order (the invocation's row before a state change, the run's before output).
 * The contract suite applies the same bursts on both databases and expects the same rows.
 */
export function stagedRows(queries: RunQueries): RunRows {
  const staged = new Map<string, StagedRow>();
  async function read(trx: Kysely<Schema>, key: RunKey): Promise<RunRow | undefined> {
    const text = runKeyText(key.invokeId, key.instanceId, key.execution);
    const held = staged.get(text);
    if (held) return held.row;
    const [row] = (await queries.lockedRun(trx, key.invokeId, key.instanceId, key.execution)).rows;
    if (row) staged.set(text, { row, columns: {}, droppedBytes: 0, dirty: false, chunks: [] });
    return row;
  }
  return {
    read,
    readForOutput: read,
    async write(trx, key, seq, columns, addDropped) {
      const held = staged.get(runKeyText(key.invokeId, key.instanceId, key.execution));
      if (!held) {
        await queries.setRun(trx, seq, columns, addDropped);
        return;
      }
      Object.assign(held.columns, columns);
      held.row = Object.assign({}, held.row, columns, {
        dropped_bytes: Number(held.row.dropped_bytes) + addDropped,
      });
      held.droppedBytes += addDropped;
      held.dirty = true;
    },
    async insertChunk(trx, key, chunk) {
      const held = staged.get(runKeyText(key.invokeId, key.instanceId, key.execution));
      // Its row is written with it (appending output always changes the row's byte count).
      if (held && queries.dialect === 'postgres') held.chunks.push(chunk);
      else await queries.insertChunk(trx, chunk);
    },
    async flush(trx, aggregates) {
      for (const held of staged.values()) {
        const aggregate =
          held.dirty && Number(held.row.execution) === 0 ? aggregates?.get(held.row.invoke_id) : undefined;
        if (aggregate && queries.dialect === 'postgres') {
          const { rows } = await queries.setRunAndAggregate(
            trx,
            held.row.seq,
            held.columns,
            held.droppedBytes,
            held.chunks,
            held.row.invoke_id,
            aggregate.status,
          );
          aggregate.changed = Number(rows[0]?.aggregate_changed ?? 0) > 0;
        } else if (held.chunks.length > 0) {
          await queries.setRunWithChunks(trx, held.row.seq, held.columns, held.droppedBytes, held.chunks);
        } else if (held.dirty) await queries.setRun(trx, held.row.seq, held.columns, held.droppedBytes);
      }
    },
    async readWithHead(trx, key) {
      const text = runKeyText(key.invokeId, key.instanceId, key.execution);
      if (staged.has(text)) return undefined;
      const [found] = (await queries.headAndRun(trx, key.invokeId, key.instanceId, key.execution)).rows;
      if (!found) return undefined;
      const { repeat_mode, invocation_status, concurrency_limit, error_limit, head_runs, ...row } = found;
      staged.set(text, { row, columns: {}, droppedBytes: 0, dirty: false, chunks: [] });
      const runs = Number(head_runs);
      return { head: { repeat_mode, invocation_status, concurrency_limit, error_limit, runs }, row };
    },
    heldRowZero(invokeId) {
      for (const held of staged.values()) {
        if (held.row.invoke_id === invokeId && Number(held.row.execution) === 0) return held.row;
      }
      return undefined;
    },
  };
}

/** The part of an invocation's row a run's update reads. */
export interface InvocationHead {
  readonly repeat_mode: string;
  readonly invocation_status: string;
  readonly concurrency_limit: number;
  readonly error_limit: number;
  /** How many rows 0 (instances) the invocation has, when read with one of its runs. */
  readonly runs?: number;
}

/** A rolling run's limits from its invocation's row; concurrency 0: not rolling. */
export const rollingLimitsOf = (head: InvocationHead): RollingLimits => ({
  concurrency: Number(head.concurrency_limit),
  errors: Number(head.error_limit),
});

/** What `inOneTransaction` keeps for the writes inside it. */
export interface TransactionScope {
  /** Invocations whose aggregate status may have changed: refreshed once, before the commit. */
  readonly staleAggregates: Set<string>;
  /** Invocation rows already read (and on PostgreSQL locked) in this transaction: read once. */
  readonly invocations: Map<string, InvocationHead>;
  readonly rows: RunRows;
  /** Rolling runs one of whose runs ended: their held runs are released before the commit. */
  readonly rolling: Map<string, { limits: RollingLimits; atMs: number }>;
  /** Instances released in this transaction, announced after its commit. */
  readonly released: string[];
}

export function openScope(queries: RunQueries): TransactionScope {
  return {
    staleAggregates: new Set(),
    invocations: new Map(),
    rolling: new Map(),
    released: [],
    rows: stagedRows(queries),
  };
}

/** The end of a scope: rows first (the aggregate is computed from what they hold), then aggregates. */
export async function closeScope(
  trx: Kysely<Schema>,
  queries: RunQueries,
  scope: TransactionScope,
  events: EventRecorder,
  atMs: number,
): Promise<void> {
  // An invocation of one instance whose row 0 this transaction holds: its statuses are known, and
  // on PostgreSQL its new aggregate is written with that row (no release changes another row 0).
  const known = new Map<string, string>();
  const merged = new Map<string, MergedAggregate>();
  for (const invokeId of scope.staleAggregates) {
    const only = scope.invocations.get(invokeId)?.runs === 1 ? scope.rows.heldRowZero(invokeId) : undefined;
    if (!only) continue;
    known.set(invokeId, only.status);
    const status = nextAggregate([instanceStatus(only.status)], undefined);
    if (status && !scope.rolling.has(invokeId)) merged.set(invokeId, { status });
  }
  await scope.rows.flush(trx, merged);
  for (const [invokeId, { limits, atMs: endedAt }] of scope.rolling) {
    scope.released.push(...(await releaseHeld(trx, invokeId, limits, endedAt, events)));
  }
  for (const invokeId of scope.staleAggregates) {
    const written = merged.get(invokeId);
    if (written?.changed !== undefined) {
      if (written.changed) await events.invocationChanged(trx, invokeId, written.status, atMs);
      continue;
    }
    const status = known.get(invokeId);
    await refreshAggregate(
      trx,
      queries,
      invokeId,
      undefined,
      events,
      atMs,
      status === undefined ? undefined : [status],
    );
  }
}

/**
 * Recomputes an invocation's aggregate status from its rows 0, written only when it changes; a
 * change is an event for the webhooks, written in the same transaction.
 */
export async function refreshAggregate(
  trx: Kysely<Schema>,
  queries: RunQueries,
  invokeId: string,
  current: string | undefined,
  events: EventRecorder,
  atMs: number,
  /** The statuses of its rows 0, when the caller holds them all; read otherwise. */
  known?: readonly string[],
): Promise<void> {
  const statuses = known ?? (await queries.statuses(trx, invokeId)).rows.map((row) => row.status);
  const aggregate = nextAggregate(
    statuses.map((status) => instanceStatus(status)),
    current === undefined ? undefined : invocationStatus(current),
  );
  if (aggregate === undefined) return;
  const written = await queries.setAggregate(trx, invokeId, aggregate);
  if (Number(written.numAffectedRows ?? 0) > 0)
    await events.invocationChanged(trx, invokeId, aggregate, atMs);
}

/** Tells the listeners of released runs (after the commit that released them). */
export function announceReleased(queries: RunQueries, instanceIds: readonly string[]): void {
  if (instanceIds.length === 0) return;
  for (const listener of queries.releaseListeners) listener(instanceIds);
}

/** Runs `work` in a transaction of its own, or in the one `db` already is. */
export function inTransaction<T>(db: Kysely<Schema>, work: (trx: Kysely<Schema>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
