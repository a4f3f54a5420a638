import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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

/** A store suite's database on each backend: a fresh, empty URL for the suite, and how to throw it away. */
export interface StoreHarness {
  readonly name: 'sqlite' | 'postgres';
  readonly available: () => Promise<boolean>;
  readonly fresh: () => Promise<{ url: string; dispose: () => Promise<void> }>;
}

export function storeHarnesses(tempPrefix: string): readonly StoreHarness[] {
  return [
    {
      name: 'sqlite',
      available: async () => true,
      async fresh() {
        const dir = await mkdtemp(join(tmpdir(), tempPrefix));
        return {
          url: `sqlite:${join(dir, 'test.db')}`,
          dispose: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
    {
      name: 'postgres',
      available: postgresAvailable,
      async fresh() {
        const schema = newSchemaName();
        return { url: postgresUrlFor(schema), dispose: () => dropSchema(schema) };
      },
    },
  ];
}
