import { type Kysely, sql } from 'kysely';
import { liveStatuses } from '../../domain/invocation-status.js';
import type { Schema } from '../schema.js';
import type { InvocationRepo, InvocationResult } from '../store.js';
import { type JoinedRow, joined, runColumns, runKeyOf, runOf, toInvocation } from './invocation-rows.js';
import { prepared } from './prepared.js';
import { tagsOf } from './tags.js';

/** What reaches the agents: runs to deliver or cancel, and the ones an agent must still hold. */

/** Runs one sweep (Aborted, past the deadline) reads at most: the next sweep takes the rest. */
export const maxRunsPerSweep = 1000;

export function deliveryQueries() {
  return {
    undelivered: prepared((db, instanceId: string) =>
      joined(db)
        .selectAll('invocations')
        .select(runColumns)
        .where('ii.instance_id', '=', instanceId)
        .where('ii.status', '=', 'Pending')
        .where('ii.delivered', '=', 0)
        // A rolling run's held instances wait for their release (docs/rolling-runs.md).
        .where('ii.held', '=', 0)
        .orderBy('ii.seq'),
    ),
  };
}

export type DeliveryQueries = ReturnType<typeof deliveryQueries>;

type DeliveryMethods = Pick<
  InvocationRepo,
  | 'undelivered'
  | 'withWork'
  | 'stopping'
  | 'overdue'
  | 'deliveredRuns'
  | 'pastDeadline'
  | 'activeCount'
  | 'activeSchedules'
>;

/** Runs of a schedule (n ≥ 1) and row 0 of every other task: leaves out row 0 that stands for a schedule. */
const notStanding = (query: ReturnType<typeof joined>) =>
  query.where((eb) =>
    eb.or([eb('ii.execution', '>', 0), eb('invocations.repeat_mode', 'not in', ['Period', 'EveryReboot'])]),
  );

export function runDelivery(db: Kysely<Schema>, queries: DeliveryQueries): DeliveryMethods {
  return {
    async undelivered(instanceId) {
      const { rows } = await queries.undelivered(db, instanceId);
      // A task carries no tags: no query for them on every delivery.
      return rows.map((row) => ({ invocation: toInvocation(row, []), run: runOf(row) }));
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
            eb.and([eb('status', '=', 'Pending'), eb('delivered', '=', 0), eb('held', '=', 0)]),
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
      return resultsWithTags(db, rows);
    },

    async overdue(beforeMs) {
      // update_time: a reboot task waits from the boot that armed it, not from its creation.
      const rows = await db
        .selectFrom('invocation_instances')
        .select(['invoke_id', 'instance_id', 'execution'])
        .where('status', '=', 'Pending')
        .where('delivered', '=', 0)
        // Held runs are not waiting for their agent yet: their delivery timeout starts at the release.
        .where('held', '=', 0)
        .where('update_time', '<', beforeMs)
        .limit(maxRunsPerSweep)
        .execute();
      return rows.map(runKeyOf);
    },

    async deliveredRuns(instanceId) {
      const rows = await notStanding(joined(db))
        .select(['ii.invoke_id', 'ii.execution'])
        .where('ii.instance_id', '=', instanceId)
        .where('ii.status', 'in', ['Pending', 'Running', 'Stopping'])
        .where('ii.delivered', '=', 1)
        .execute();
      return rows.map((row) => ({ invokeId: row.invoke_id, instanceId, execution: Number(row.execution) }));
    },

    async pastDeadline(nowMs, graceMs) {
      const rows = await notStanding(joined(db))
        .select(['ii.invoke_id', 'ii.instance_id', 'ii.execution'])
        .where('ii.status', 'in', ['Running', 'Stopping'])
        .where('ii.start_time', '>', 0)
        .where(
          (eb) => eb('ii.start_time', '+', eb('invocations.timeout_seconds', '*', 1000)),
          '<',
          nowMs - graceMs,
        )
        .limit(maxRunsPerSweep)
        .execute();
      return rows.map(runKeyOf);
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

    async activeSchedules(instanceId) {
      const rows = await joined(db)
        .select(['ii.invoke_id', 'ii.delivered'])
        .where('ii.instance_id', '=', instanceId)
        .where('ii.execution', '=', 0)
        .where('invocations.repeat_mode', '=', 'Period')
        .where('ii.status', 'in', liveStatuses)
        .execute();
      return rows.map((row) => ({ invokeId: row.invoke_id, delivered: Number(row.delivered) === 1 }));
    },
  };
}

/** Joined rows as results, each invocation's tags read once. */
export async function resultsWithTags(
  db: Kysely<Schema>,
  rows: readonly JoinedRow[],
): Promise<InvocationResult[]> {
  const tags = await tagsOf(db, 'invocation', [...new Set(rows.map((row) => row.id))]);
  return rows.map((row) => ({ invocation: toInvocation(row, tags.get(row.id) ?? []), run: runOf(row) }));
}
