import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Migration } from './migrations/migration.js';
import { postgresMigrations } from './migrations/postgres.js';
import type { Schema } from './schema.js';
import { sqlStore } from './sql/sql-store.js';
import type { Store } from './store.js';

// BIGINT columns hold epoch milliseconds and sequence numbers, all far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

// Any constant works; it only has to be the same for every OpenAssist server on the database.
const migrationLockKey = 0x0a551570;

/**
 * Applies pending migrations inside one transaction holding an advisory lock, so servers that
 * start together migrate one after the other; the loser then sees the versions already applied.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[] = postgresMigrations,
): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [migrationLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((row) => row.version));
    let count = 0;
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        Date.now(),
      ]);
      count++;
    }
    await client.query('COMMIT');
    return count;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * `postgres://user@host:port/db?schema=NAME`: the optional `schema` parameter (ours, not libpq's)
 * puts every table in that schema, created when missing; tests use it to isolate runs.
 */
export function parsePostgresUrl(url: string): { connectionString: string; schema: string | undefined } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`invalid schema name in database URL: ${schema}`);
  }
  return { connectionString: parsed.toString(), schema };
}

export async function openPostgresStore(url: string, poolSize = 10): Promise<Store> {
  const { connectionString, schema } = parsePostgresUrl(url);
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (error) {
      // Two servers creating the same schema at once: the loser's error is harmless.
      if ((error as { code?: string }).code !== '23505') throw error;
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString,
    max: poolSize,
    ...(schema !== undefined && { options: `-c search_path=${schema}` }),
  });
  try {
    await migratePostgres(pool);
  } catch (error) {
    await pool.end();
    throw error;
  }
  return sqlStore(new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
}
