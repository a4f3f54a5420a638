import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The machine's PostgreSQL; override with OPENASSIST_TEST_POSTGRES_URL. */
export const postgresBaseUrl =
  process.env.OPENASSIST_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let available: Promise<boolean> | undefined;

/**
 * Whether PostgreSQL answers. Under CI a missing PostgreSQL is a failure, never a skip: callers
 * use `requirePostgres()` in CI and may skip elsewhere.
 */
export function postgresAvailable(): Promise<boolean> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: postgresBaseUrl, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch (error) {
      if (process.env.CI === 'true') {
        throw new Error(
          `PostgreSQL is required when CI=true, and ${withoutPassword(postgresBaseUrl)} does not answer ` +
            `(${String(error)}); start it, or set OPENASSIST_TEST_POSTGRES_URL`,
        );
      }
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return available;
}

function withoutPassword(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/** A fresh schema name; the store creates it on first open. */
export const newSchemaName = (): string => `oa_test_${randomBytes(6).toString('hex')}`;

export const postgresUrlFor = (schema: string): string => {
  const url = new URL(postgresBaseUrl);
  url.searchParams.set('schema', schema);
  return url.toString();
};

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresBaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
