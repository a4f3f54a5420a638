import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  type Driver,
  Kysely,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  type SqliteStatement,
} from 'kysely';
import { createPrivateFile } from '../private-files.js';
import type { Migration } from './migrations/migration.js';
import { sqliteMigrations } from './migrations/sqlite.js';
import type { Schema } from './schema.js';
import { sqlStore } from './sql/sql-store.js';
import { operationOfSql } from './sql/telemetry.js';
import { startCheckpointer } from './sqlite-checkpointer.js';
import { GroupCommitSqliteDriver } from './sqlite-group-commit.js';
import type { QueryListener, QueryOperation, Store } from './store.js';

/**
 * Applies pending migrations. BEGIN IMMEDIATE takes the write lock before reading the applied
 * versions, so two servers starting on one file migrate one after the other, never twice.
 */
export function migrateSqlite(
  db: Database.Database,
  migrations: readonly Migration[] = sqliteMigrations,
): number {
  const apply = db.transaction(() => {
    db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
    const applied = new Set(
      db
        .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    );
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    let count = 0;
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      db.exec(migration.sql);
      insert.run(migration.version, migration.name, Date.now());
      count++;
    }
    return count;
  });
  return apply.immediate();
}

// Kysely prepares every query anew; preparing was an eighth of the CPU of a DescribeCommands request.
// Queries come from a fixed set of builders, so a bounded cache keyed by SQL text stays small.
const maxCachedStatements = 256;

function withStatementCache(
  db: Database.Database,
  onClose: () => void,
  onQuery: QueryListener | undefined,
): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => {
      onClose();
      db.close();
    },
    prepare(sql) {
      let statement = cache.get(sql);
      if (!statement) {
        if (cache.size >= maxCachedStatements) cache.delete(cache.keys().next().value ?? '');
        statement = onQuery ? timed(db.prepare(sql), operationOfSql(sql), onQuery) : db.prepare(sql);
        cache.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * A statement that reports how long each run of it took. better-sqlite3 runs statements
 * synchronously, so two clock reads around the call are the whole cost (Kysely's query log would
 * add promise hops to every statement).
 */
function timed(
  statement: SqliteStatement,
  operation: QueryOperation,
  onQuery: QueryListener,
): SqliteStatement {
  const time = <T>(run: () => T): T => {
    const start = performance.now();
    try {
      return run();
    } finally {
      onQuery(operation, (performance.now() - start) / 1000);
    }
  };
  return {
    reader: statement.reader,
    all: (parameters) => time(() => statement.all(parameters)),
    run: (parameters) => time(() => statement.run(parameters)),
    iterate: (parameters) => statement.iterate(parameters),
  };
}

/**
 * Kysely's SQLite dialect over `db` (statements prepared through `database`), committing the
 * transactions of one event-loop turn together (sqlite-group-commit.ts).
 */
export function sqliteDialect(db: Database.Database, database: SqliteDatabase = db): SqliteDialect {
  const config: SqliteDialectConfig = { database };
  return new (class extends SqliteDialect {
    override createDriver(): Driver {
      return new GroupCommitSqliteDriver(db, database);
    }
  })(config);
}

/** What the opener of a store may ask for beyond the database itself. */
export interface StoreOptions {
  /** Times every statement (the server's metrics); absent: nothing is timed. */
  readonly onQuery?: QueryListener | undefined;
}

export function openSqliteStore(path: string, options: StoreOptions = {}): Store {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Owner-only whatever the umask: it holds access key secrets. SQLite gives its -wal and -shm
    // files the database file's mode, so creating the file first covers them too.
    createPrivateFile(path);
  }
  const db = new Database(path);
  // 5 s of busy waiting rides out another process's write (set first: switching to WAL takes a lock);
  // WAL lets readers run beside the writer.
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Result pages read rows scattered over a large table: 64 MiB of page cache instead of 2 MiB.
  db.pragma('cache_size = -65536');
  migrateSqlite(db);
  // Without statistics SQLite plans by guesswork: it drove InstanceId-filtered result counts from
  // the region index (every invocation of the region: 104 ms over 1M results, 5.9 ms with statistics).
  // Sampled ANALYZE where tables lack statistics or have grown, at open and then hourly.
  db.pragma('analysis_limit = 1000');
  db.pragma('optimize = 0x10002');
  const optimizer = setInterval(() => {
    try {
      db.pragma('optimize');
    } catch {
      // a full disk or a busy database: statistics wait for the next hour
    }
  }, 3_600_000);
  optimizer.unref();
  // Checkpoints run beside the event loop; the committing connection checkpoints only should the
  // log grow past 40 MiB (the background one stopped or cannot keep up).
  const stopCheckpointer = path === ':memory:' ? () => {} : startCheckpointer(path);
  db.pragma('wal_autocheckpoint = 10000');
  const onClose = () => {
    clearInterval(optimizer);
    stopCheckpointer();
  };
  const walPath = `${path}-wal`;
  return sqlStore(
    new Kysely<Schema>({ dialect: sqliteDialect(db, withStatementCache(db, onClose, options.onQuery)) }),
    'sqlite',
    undefined,
    undefined,
    {
      pool: () => undefined,
      // A stat at scrape time; no file (in memory, or not created yet) is an empty log.
      walBytes: () => (path === ':memory:' ? 0 : (statSync(walPath, { throwIfNoEntry: false })?.size ?? 0)),
    },
  );
}

/** A read-only connection to a SQLite store, for a reader thread (docs/reader-threads.md). */
export interface SqliteReader {
  readonly store: Store;
  /**
   * Runs `read` in one read transaction: its statements see one snapshot, taken at its first
   * statement, so every commit that returned before `snapshot` was called is in it (WAL).
   */
  snapshot<T>(read: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Opens `path` read-only beside the server's own connection; the writer keeps the file in WAL mode. */
export function openSqliteReader(path: string, cacheKiB: number): SqliteReader {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  // A writer's checkpoint may hold the log briefly; wait as the writer does.
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${cacheKiB}`);
  const store = sqlStore(
    new Kysely<Schema>({
      dialect: sqliteDialect(
        db,
        withStatementCache(db, () => {}, undefined),
      ),
    }),
    'sqlite',
  );
  return {
    store,
    async snapshot(read) {
      db.exec('BEGIN');
      try {
        return await read();
      } finally {
        if (db.inTransaction) db.exec('COMMIT');
      }
    },
    close: () => store.close(),
  };
}
