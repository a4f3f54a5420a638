import Database from 'better-sqlite3';
import pg from 'pg';

/** How many invocation results to add, and over how many instances. */
export interface SeedPlan {
  /** One real invocation with one finished run (and its output) that every seeded row copies. */
  readonly templateInvokeId: string;
  /** Invocations to add; each gets `width` results. */
  readonly invocations: number;
  readonly width: number;
  /** Instances the results spread over (the template's instance is copied to make up the count). */
  readonly instances: number;
}

/** Every 10th seeded invocation failed on all its instances (exit code 1), so status filters select something. */
const failedEvery = 10;

type Dialect = 'sqlite' | 'postgres';

/** Seeded ids are `t-5eed5eed…` and `mi-5eed5eed…` (hex, like real ids; a real one starts so 1 in 2^32). */
const marker = '5eed5eed';

/** SQL text that differs between the dialects. */
const dialects: Record<
  Dialect,
  { hexId: (prefix: string, n: string) => string; param: (i: number) => string }
> = {
  sqlite: { hexId: (prefix, n) => `'${prefix}${marker}' || printf('%024x', ${n})`, param: () => '?' },
  postgres: {
    hexId: (prefix, n) => `'${prefix}${marker}' || lpad(to_hex(${n}), 24, '0')`,
    param: (i) => `$${i}`,
  },
};

/**
 * `INSERT INTO table (every column but seq) SELECT …` copying the template row `t`, with some
 * columns replaced: the copy follows whatever columns the real schema has.
 */
function copyInsert(
  table: string,
  columns: readonly string[],
  replaced: Record<string, string>,
  from: string,
) {
  const kept = columns.filter((column) => column !== 'seq');
  const values = kept.map((column) => replaced[column] ?? `t.${column}`);
  return `INSERT INTO ${table} (${kept.join(', ')}) SELECT ${values.join(', ')} ${from}`;
}

/** The statements that seed instances, invocations, their results, and the results' output. */
function seedStatements(dialect: Dialect, plan: SeedPlan, columns: (table: string) => readonly string[]) {
  const { hexId, param } = dialects[dialect];
  const failed = `(k.n % ${failedEvery} = 0)`;
  const series = (name: string, from: number, to: number) =>
    dialect === 'sqlite'
      ? `(WITH RECURSIVE s(v) AS (SELECT ${from} UNION ALL SELECT v + 1 FROM s WHERE v < ${to}) SELECT v AS ${name} FROM s)`
      : `(SELECT generate_series(${from}, ${to}) AS ${name})`;
  const seededInvokeId = hexId('t-', 'k.n');
  return [
    copyInsert(
      'instances',
      columns('instances'),
      {
        id: hexId('mi-', 'k.n'),
        machine_id: `'seed'`,
        connected: '0',
      },
      `FROM ${series('n', 1, plan.instances)} k, instances t
       WHERE t.id = (SELECT instance_id FROM invocation_instances WHERE invoke_id = ${param(1)} LIMIT 1)`,
    ),
    copyInsert(
      'invocations',
      columns('invocations'),
      {
        id: seededInvokeId,
        created_at: `t.created_at - (${plan.invocations} - k.n + 1) * 10`,
        invocation_status: `CASE WHEN ${failed} THEN 'Failed' ELSE t.invocation_status END`,
        client_token: `''`,
      },
      `FROM ${series('n', 1, plan.invocations)} k, invocations t WHERE t.id = ${param(1)} ORDER BY k.n`,
    ),
    copyInsert(
      'invocation_instances',
      columns('invocation_instances'),
      {
        invoke_id: seededInvokeId,
        instance_id: hexId('mi-', `((k.n * ${plan.width} + w.j) % ${plan.instances}) + 1`),
        status: `CASE WHEN ${failed} THEN 'Failed' ELSE t.status END`,
        exit_code: `CASE WHEN ${failed} THEN 1 ELSE t.exit_code END`,
        created_at: `t.created_at - (${plan.invocations} - k.n + 1) * 10`,
        update_time: `t.update_time - (${plan.invocations} - k.n + 1) * 10`,
        start_time: `t.start_time - (${plan.invocations} - k.n + 1) * 10`,
        finish_time: `t.finish_time - (${plan.invocations} - k.n + 1) * 10`,
      },
      `FROM ${series('n', 1, plan.invocations)} k, ${series('j', 0, plan.width - 1)} w, invocation_instances t
       WHERE t.invoke_id = ${param(1)} ORDER BY k.n, w.j`,
    ),
    copyInsert(
      'output_chunks',
      columns('output_chunks'),
      {
        invoke_id: 'r.invoke_id',
        instance_id: 'r.instance_id',
      },
      `FROM invocation_instances r, output_chunks t
       WHERE r.invoke_id LIKE 't-${marker}%' AND t.invoke_id = ${param(1)}`,
    ),
  ];
}

/**
 * Adds `invocations × width` finished results to a stopped server's SQLite file, in one
 * transaction, by copying a real result row (and its output) under new ids: the rows are what the
 * server itself writes, so the API reads them as its own.
 */
export function seedSqlite(path: string, plan: SeedPlan): void {
  const db = new Database(path);
  try {
    const columns = (table: string) =>
      (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((row) => row.name);
    db.transaction(() => {
      for (const statement of seedStatements('sqlite', plan, columns)) {
        db.prepare(statement).run(plan.templateInvokeId);
      }
    })();
  } finally {
    db.close();
  }
}

/** The same for a PostgreSQL schema, then ANALYZE (what autovacuum would soon do after such a load). */
export async function seedPostgres(connectionString: string, schema: string, plan: SeedPlan): Promise<void> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await client.query(`SET search_path TO ${schema}`);
    const columnsOf = new Map<string, string[]>();
    for (const table of ['instances', 'invocations', 'invocation_instances', 'output_chunks']) {
      const { rows } = await client.query<{ column_name: string }>(
        `SELECT column_name FROM information_schema.columns
         WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [schema, table],
      );
      columnsOf.set(
        table,
        rows.map((row) => row.column_name),
      );
    }
    await client.query('BEGIN');
    for (const statement of seedStatements('postgres', plan, (table) => columnsOf.get(table) ?? [])) {
      await client.query(statement, [plan.templateInvokeId]);
    }
    await client.query('COMMIT');
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
}

/** The id of seeded instance n (1 … instances) and of seeded invocation n (1 … invocations). */
export const seededInstanceId = (n: number): string => `mi-${marker}${n.toString(16).padStart(24, '0')}`;
export const seededInvokeId = (n: number): string => `t-${marker}${n.toString(16).padStart(24, '0')}`;
