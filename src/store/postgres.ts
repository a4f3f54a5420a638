import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { errnoCode } from '../guards.js';
import type { Migration } from './migrations/migration.js';
import { postgresMigrations } from './migrations/postgres.js';
import { namedStatementPool } from './postgres-statements.js';
import type { Schema } from './schema.js';
import { sqlStore } from './sql/sql-store.js';
import type { StoreOptions } from './sqlite.js';
import type { Notifications, Store } from './store.js';

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

export async function openPostgresStore(
  url: string,
  poolSize = 10,
  options: StoreOptions = {},
): Promise<Store> {
  const { connectionString, schema } = parsePostgresUrl(url);
  if (schema !== undefined) {
    const setup = new pg.Client({ connectionString });
    await setup.connect();
    try {
      await setup.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } catch (error) {
      // Two servers creating the same schema at once: the loser's error is harmless.
      if (errnoCode(error) !== '23505') throw error;
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
  const notifications = new PostgresNotifications(pool, connectionString, `openassist_${schema ?? 'public'}`);
  return sqlStore(
    new Kysely<Schema>({
      dialect: new PostgresDialect({ pool: namedStatementPool(pool, undefined, options.onQuery) }),
    }),
    'postgres',
    notifications,
    () => notifications.close(),
    {
      pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
      walBytes: () => undefined,
    },
  );
}

// A lost listening connection is tried again after this long.
const relistenMs = 1_000;

/**
 * LISTEN/NOTIFY between the nodes on one database (and schema): publishing goes through the pool,
 * listening holds one connection of its own and comes back after losing it.
 */
class PostgresNotifications implements Notifications {
  private listener: pg.Client | undefined;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly connectionString: string,
    private readonly channel: string,
  ) {}

  async publish(payload: string): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [this.channel, payload]);
  }

  async listen(
    onMessage: (payload: string) => void,
    onResubscribed: () => void,
  ): Promise<() => Promise<void>> {
    // One retry pending at a time, however many ways the connection reports its loss.
    const retryLater = () => {
      if (this.closed || this.retry) return;
      this.retry = setTimeout(() => {
        this.retry = undefined;
        connect(true).catch(retryLater);
      }, relistenMs);
    };
    const connect = async (again: boolean): Promise<void> => {
      const client = new pg.Client({ connectionString: this.connectionString });
      const lost = () => {
        if (this.listener !== client) return;
        this.listener = undefined;
        client.end().catch(() => undefined);
        retryLater();
      };
      client.on('notification', (message) => {
        if (message.channel === this.channel) onMessage(message.payload ?? '');
      });
      client.on('error', lost);
      client.on('end', lost);
      this.listener = client;
      try {
        await client.connect();
        await client.query(`LISTEN ${this.channel}`);
      } catch (error) {
        lost();
        throw error;
      }
      if (again) onResubscribed();
    };
    await connect(false);
    return () => this.close();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }
}
