import { join } from 'node:path';
import { dropSchema, newSchemaName, postgresAvailable, postgresUrlFor } from './postgres.js';

/** A database for one test file: SQLite in the server's data dir, or a fresh PostgreSQL schema. */
export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** The --database flag for the server; undefined means the SQLite default in the data dir. */
  readonly databaseUrl: string | undefined;
  /** The URL the test itself can open, given the server's data dir. */
  storeUrl(dataDir: string): string;
  dispose(): Promise<void>;
}

export function sqliteBackend(): Backend {
  return {
    name: 'sqlite',
    databaseUrl: undefined,
    storeUrl: (dataDir) => `sqlite:${join(dataDir, 'openassist.db')}`,
    dispose: async () => undefined,
  };
}

export function postgresBackend(): Backend {
  const schema = newSchemaName();
  const url = postgresUrlFor(schema);
  return { name: 'postgres', databaseUrl: url, storeUrl: () => url, dispose: () => dropSchema(schema) };
}

/** Both backends; PostgreSQL is left out only outside CI when it is not running. */
export const backendFactories = [
  { name: 'sqlite', make: sqliteBackend, available: async () => true },
  { name: 'postgres', make: postgresBackend, available: postgresAvailable },
] as const;
