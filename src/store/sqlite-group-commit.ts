import type Database from 'better-sqlite3';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  SelectQueryNode,
  type SqliteDatabase,
} from 'kysely';

/**
 * Kysely's driver for the server's one writing SQLite connection, committing the transactions of
 * one event-loop turn together (group commit).
 *
 * A commit writes every page its transaction dirtied to the log, and consecutive transactions
 * dirty the same rightmost pages of the same tables and indexes: two commits were 44 % of an
 * InvokeCommand's statement time (docs/sqlite-costs.md). Here a transaction is a savepoint inside
 * one outer transaction (the group), committed once at the end of the turn:
 *
 * - A member's changes are undone alone when it fails (ROLLBACK TO its savepoint); should SQLite
 *   have ended the whole group itself (a full disk, an I/O error), every member fails with it.
 * - `commitTransaction` resolves only once the group's COMMIT has returned, so nothing a member
 *   answers, pushes or acknowledges leaves before its rows are durable.
 * - A statement outside any transaction never sees a member's rows before they are committed: the
 *   group is committed first, and the statement runs on its own after it. (Letting lone writes join
 *   the group saved commits but delayed their callers by a turn: InvokeCommand's rate fell 6-8 %.)
 * - A group holds at most `maxMembers` members, so one turn's burst stays a bounded write.
 */

/** Savepoint of one member inside the group; members never nest in one another. */
const memberSavepoint = 'group_member';
const maxMembers = 256;

interface Group {
  members: number;
  readonly committed: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function openGroup(): Group {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const committed = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  // A group whose members all failed has nobody awaiting it: its rejection is nobody's to handle.
  committed.catch(() => undefined);
  return { members: 0, committed, resolve, reject };
}

/** One acquisition of the connection, as Kysely holds it between acquire and release. */
class Lease implements DatabaseConnection {
  /** 'member': inside its savepoint; 'released': back with the driver (a member, into its group). */
  state: 'alone' | 'member' | 'released' = 'alone';

  constructor(private readonly driver: GroupCommitSqliteDriver) {}

  executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    return Promise.resolve(this.driver.execute<R>(this, compiledQuery));
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiledQuery.query)) {
      throw new Error('Sqlite driver only supports streaming of select queries');
    }
    for (const row of this.driver.iterate(this, compiledQuery)) yield { rows: [row as R] };
  }
}

/** A lock handed over in the order it was asked for. */
class FifoLock {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((granted) => this.waiting.push(granted));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held = false;
  }
}

export class GroupCommitSqliteDriver implements Driver {
  private readonly lock = new FifoLock();
  private group: Group | undefined;
  /** The error of the last statement that failed: the cause of a group SQLite ended itself. */
  private lastError: unknown;

  /**
   * `db` is the connection itself (to ask whether a transaction is open); `database` prepares its
   * statements (the statement cache, timing them when the server measures).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly database: SqliteDatabase,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return new Lease(this);
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    this.joinableGroup();
    this.run(`savepoint ${memberSavepoint}`);
    lease.state = 'member';
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    const group = this.group;
    // Gone when SQLite ended it over a statement of this body that failed (and the body went on).
    if (!group) throw this.endedBy();
    this.run(`release ${memberSavepoint}`);
    group.members++;
    // The next transaction may join the group while this one waits for its commit.
    this.releaseLease(lease);
    await group.committed;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const lease = connection as Lease;
    // A member that joined fails with its group: it has nothing of its own to undo.
    if (lease.state !== 'member') return;
    lease.state = 'alone';
    // Not in a transaction: SQLite ended the group itself, and `failed` has failed its members.
    if (this.db.inTransaction) {
      this.run(`rollback to ${memberSavepoint}`);
      this.run(`release ${memberSavepoint}`);
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    this.releaseLease(connection as Lease);
  }

  async destroy(): Promise<void> {
    await this.lock.acquire();
    try {
      if (this.group) this.commitGroup();
      this.database.close();
    } finally {
      // Whoever still waits for the connection finds it closed, rather than waiting forever.
      this.lock.release();
    }
  }

  /** Runs one statement for `lease`, which holds the lock. */
  execute<R>(lease: Lease, query: CompiledQuery): QueryResult<R> {
    this.beforeStatement(lease);
    const statement = this.database.prepare(query.sql);
    const parameters = query.parameters as unknown[];
    try {
      if (statement.reader) return { rows: statement.all(parameters) as R[] };
      const { changes, lastInsertRowid } = statement.run(parameters);
      return {
        numAffectedRows: BigInt(changes),
        insertId: BigInt(lastInsertRowid),
        rows: [],
      };
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  iterate(lease: Lease, query: CompiledQuery): IterableIterator<unknown> {
    this.beforeStatement(lease);
    return this.database.prepare(query.sql).iterate(query.parameters as unknown[]);
  }

  private beforeStatement(lease: Lease): void {
    if (lease.state === 'released') throw new Error('a statement on a released connection');
    // A body that caught the error which ended its group must not go on writing outside it.
    if (lease.state === 'member' && !this.db.inTransaction) throw this.endedBy();
    // Outside a member, a statement must not see the group's uncommitted rows, nor join the group.
    if (lease.state !== 'member' && this.group) this.commitGroup();
  }

  /** The open group, or a new one; a full group is committed first. */
  private joinableGroup(): Group {
    if (this.group && this.group.members >= maxMembers) this.commitGroup();
    if (this.group) return this.group;
    this.run('begin');
    const group = openGroup();
    this.group = group;
    setImmediate(() => void this.commitWhenFree(group));
    return group;
  }

  /**
   * Remembers why a statement failed; should SQLite have ended the transaction itself (a full
   * disk, an I/O error), the group is gone and every member of it fails with that error.
   */
  private failed(error: unknown): void {
    this.lastError = error;
    const group = this.group;
    if (group && !this.db.inTransaction) {
      this.group = undefined;
      group.reject(error);
    }
  }

  /** Why the group a member was in has ended. */
  private endedBy(): unknown {
    return this.lastError ?? new Error('the transaction ended before its commit');
  }

  /** Commits the group at the end of the turn, after the member running now (if any) is done. */
  private async commitWhenFree(group: Group): Promise<void> {
    await this.lock.acquire();
    try {
      if (this.group === group) this.commitGroup();
    } finally {
      this.lock.release();
    }
  }

  /** Commits the open group now; the caller holds the lock. */
  private commitGroup(): void {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    try {
      this.run('commit');
      group.resolve();
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('rollback');
      group.reject(error);
    }
  }

  private run(sql: string): void {
    try {
      this.database.prepare(sql).run([]);
    } catch (error) {
      this.failed(error);
      throw error;
    }
  }

  private releaseLease(lease: Lease): void {
    if (lease.state === 'released') return;
    lease.state = 'released';
    this.lock.release();
  }
}
