import type { Insertable } from 'kysely';
import type { InvocationInstanceTable, InvocationTable } from '../schema.js';

/**
 * InvokeCommand's writes on PostgreSQL as one statement: the quota's count, the invocation, its
 * runs, the command's and the instances' counters, chained by data-modifying CTEs. One statement
 * is atomic by itself: one round trip instead of seven (BEGIN, five writes, COMMIT), which was
 * most of InvokeCommand's own cost on PostgreSQL. When the quota refuses, nothing is written (the
 * quota's own row is counted only where the count stays within the limit).
 */

type InvocationRow = Insertable<InvocationTable>;
type RunRow = Insertable<InvocationInstanceTable>;

export interface OneStatementCreate {
  readonly invocation: InvocationRow;
  readonly runs: readonly RunRow[];
  /** The command whose InvokeTimes counts this invocation; undefined for a sent file. */
  readonly commandId: string | undefined;
  readonly instanceIds: readonly string[];
  readonly atMs: number;
  readonly quota: { readonly regionId: string; readonly utcDay: string; readonly limit: number } | undefined;
}

// Text columns of a run's row; every other column it names is a whole number.
const runTextColumns = new Set(['invoke_id', 'instance_id', 'status', 'error_code', 'error_info']);

/** Whether the runs can go as one `unnest` of arrays: every row names the same columns. */
export function sameRunShape(runs: readonly RunRow[]): boolean {
  const first = Object.keys(runs[0] ?? {}).join(',');
  return runs.every((run) => Object.keys(run).join(',') === first);
}

/** The statement and its bound values; the text depends only on which columns the rows name. */
export function oneStatementCreate(create: OneStatementCreate): { sql: string; parameters: unknown[] } {
  const parameters: unknown[] = [];
  const bind = (value: unknown, type: string) => {
    parameters.push(value);
    return `$${parameters.length}::${type}`;
  };
  const steps: string[] = [];
  if (create.quota) {
    const { regionId, utcDay, limit } = create.quota;
    const limitMark = bind(limit, 'bigint');
    steps.push(
      `counted AS (INSERT INTO invocation_quota (region_id, utc_day, used) SELECT ${bind(regionId, 'text')}, ${bind(utcDay, 'text')}, 1 WHERE ${limitMark} >= 1 ON CONFLICT (region_id, utc_day) DO UPDATE SET used = invocation_quota.used + 1 WHERE invocation_quota.used < ${limitMark} RETURNING used)`,
      'allowed AS (SELECT 1 AS ok FROM counted)',
    );
  } else {
    steps.push('allowed AS (SELECT 1 AS ok)');
  }
  const columns = Object.keys(create.invocation).filter(
    (name) => create.invocation[name as keyof InvocationRow] !== undefined,
  );
  const values = columns.map((name) => {
    const value = create.invocation[name as keyof InvocationRow];
    return bind(value, typeof value === 'number' ? 'bigint' : 'text');
  });
  steps.push(
    `stored AS (INSERT INTO invocations (${columns.join(', ')}) SELECT ${values.join(', ')} FROM allowed RETURNING seq)`,
  );
  const runColumns = Object.keys(create.runs[0] ?? {});
  if (runColumns.length > 0) {
    const arrays = runColumns.map((name) =>
      bind(
        create.runs.map((run) => run[name as keyof RunRow] ?? null),
        runTextColumns.has(name) ? 'text[]' : 'bigint[]',
      ),
    );
    // In the request's order: a rolling run releases its instances by sequence number.
    steps.push(
      `runs AS (INSERT INTO invocation_instances (${runColumns.join(', ')}) SELECT ${runColumns.map((name) => `r.${name}`).join(', ')} FROM unnest(${arrays.join(', ')}) WITH ORDINALITY AS r(${runColumns.join(', ')}, ord), allowed ORDER BY r.ord)`,
    );
  }
  if (create.commandId !== undefined) {
    steps.push(
      `invoked AS (UPDATE commands SET invoke_times = invoke_times + 1 WHERE id = ${bind(create.commandId, 'text')} AND EXISTS (SELECT 1 FROM allowed))`,
    );
  }
  steps.push(
    `touched AS (UPDATE instances SET invocation_count = invocation_count + 1, last_invoked_at = ${bind(create.atMs, 'bigint')} WHERE id = ANY(${bind(create.instanceIds, 'text[]')}) AND EXISTS (SELECT 1 FROM allowed))`,
  );
  return { sql: `WITH ${steps.join(',\n')}\nSELECT seq FROM stored`, parameters };
}
