import Database from 'better-sqlite3';
import { Kysely, type SqliteDatabase } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { sqliteDialect } from './sqlite.js';

interface Tables {
  t: { id: number; x: Buffer | null };
  child: { parent: number };
}

/** A database on :memory: whose statements are logged by their first word (begin, insert, commit…). */
function openLogged() {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)');
  const log: string[] = [];
  const database: SqliteDatabase = {
    close: () => db.close(),
    prepare(sql) {
      const statement = db.prepare(sql);
      const word = sql.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
      return {
        reader: statement.reader,
        all: (parameters) => {
          log.push(word);
          return statement.all(parameters);
        },
        run: (parameters) => {
          log.push(word);
          return statement.run(parameters);
        },
        iterate: (parameters) => statement.iterate(parameters),
      };
    },
  };
  const kysely = new Kysely<Tables>({ dialect: sqliteDialect(db, database) });
  const ids = () => (db.prepare('SELECT id FROM t ORDER BY id').all() as { id: number }[]).map((r) => r.id);
  // Microtasks only: the group commits at the end of the turn, which this never reaches.
  const untilLogged = async (word: string) => {
    for (let i = 0; i < 10_000 && !log.includes(word); i++) await Promise.resolve();
    expect(log).toContain(word);
  };
  return { db, kysely, log, ids, untilLogged };
}

const insert = (kysely: Kysely<Tables>, id: number) =>
  kysely.transaction().execute(async (trx) => {
    await trx.insertInto('t').values({ id, x: null }).execute();
    return id;
  });

let opened: Kysely<Tables>[] = [];
afterEach(async () => {
  await Promise.all(opened.map((kysely) => kysely.destroy()));
  opened = [];
});

function open() {
  const logged = openLogged();
  opened.push(logged.kysely);
  return logged;
}

describe('group commit on SQLite', () => {
  it('commits the transactions of one turn once, and answers each only after that commit', async () => {
    const { db, kysely, log, ids } = open();
    const seenAtAnswer: boolean[] = [];
    const answers = [1, 2, 3].map((id) =>
      insert(kysely, id).then((value) => {
        seenAtAnswer.push(db.inTransaction || !log.includes('commit'));
        return value;
      }),
    );
    expect(await Promise.all(answers)).toEqual([1, 2, 3]);
    expect(seenAtAnswer).toEqual([false, false, false]);
    expect(log.filter((word) => word === 'commit')).toHaveLength(1);
    expect(log.filter((word) => word === 'begin')).toHaveLength(1);
    expect(ids()).toEqual([1, 2, 3]);
  });

  it('undoes a failing transaction alone; the others of its group commit', async () => {
    const { db, kysely, ids } = open();
    db.exec('INSERT INTO t (id) VALUES (10)');
    const failing = kysely.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 20, x: null }).execute();
      throw new Error('the body failed');
    });
    const duplicate = kysely.transaction().execute(async (trx) => {
      await trx.insertInto('t').values({ id: 30, x: null }).execute();
      await trx.insertInto('t').values({ id: 10, x: null }).execute();
    });
    const results = await Promise.allSettled([insert(kysely, 5), failing, duplicate, insert(kysely, 40)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ message: 'the body failed' });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({
      code: 'SQLITE_CONSTRAINT_PRIMARYKEY',
    });
    expect(ids()).toEqual([5, 10, 40]);
  });

  it('commits the group before a write outside any transaction, which then commits on its own', async () => {
    const { kysely, log, ids } = open();
    await Promise.all([insert(kysely, 1), kysely.insertInto('t').values({ id: 2, x: null }).execute()]);
    expect(log).toEqual(['begin', 'savepoint', 'insert', 'release', 'commit', 'insert']);
    expect(ids()).toEqual([1, 2]);
  });

  it('fails a lone write alone on a constraint, and keeps its group', async () => {
    const { db, kysely, ids } = open();
    db.exec('INSERT INTO t (id) VALUES (1)');
    const results = await Promise.allSettled([
      insert(kysely, 2),
      kysely.insertInto('t').values({ id: 1, x: null }).execute(),
      insert(kysely, 3),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(ids()).toEqual([1, 2, 3]);
  });

  it('commits the group before a statement outside it, so that statement never reads uncommitted rows', async () => {
    const { kysely, log } = open();
    const written = insert(kysely, 1);
    const read = kysely.selectFrom('t').select('id').execute();
    const [, rows] = await Promise.all([written, read]);
    expect(rows).toEqual([{ id: 1 }]);
    expect(log).toEqual(['begin', 'savepoint', 'insert', 'release', 'commit', 'select']);
  });

  it('fails every member when SQLite ends the group itself (a full disk), and works again once space returns', async () => {
    const { db, kysely, ids, untilLogged } = open();
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const first = insert(kysely, 1);
    await untilLogged('release');
    const big = kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('t')
        .values({ id: 2, x: Buffer.alloc(100_000) })
        .execute();
    });
    const results = await Promise.allSettled([first, big, insert(kysely, 3)]);
    // The first joined a group that SQLite then rolled back: its row is gone, so it must not succeed.
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_FULL' } });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_FULL' } });
    expect(results[2]).toMatchObject({ status: 'fulfilled', value: 3 });
    expect(ids()).toEqual([3]);
    expect(db.inTransaction).toBe(false);
    db.pragma('max_page_count = 1000000');
    await insert(kysely, 4);
    expect(ids()).toEqual([3, 4]);
  });

  it('refuses the writes of a body that caught the error which ended its group', async () => {
    const { db, kysely, ids } = open();
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const stubborn = kysely.transaction().execute(async (trx) => {
      await trx
        .insertInto('t')
        .values({ id: 1, x: Buffer.alloc(100_000) })
        .execute()
        .catch(() => undefined);
      await trx.insertInto('t').values({ id: 2, x: null }).execute();
    });
    await expect(stubborn).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    expect(ids()).toEqual([]);
    expect(db.inTransaction).toBe(false);
  });

  it('fails every member when the commit itself fails, and stores none of them', async () => {
    const { db, kysely, ids, untilLogged } = open();
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE child (parent INTEGER REFERENCES t(id) DEFERRABLE INITIALLY DEFERRED)');
    // A deferred foreign key is checked at COMMIT: this member's row makes the group's commit fail.
    const first = insert(kysely, 1);
    await untilLogged('release');
    const orphan = kysely.transaction().execute(async (trx) => {
      await trx.insertInto('child').values({ parent: 99 }).execute();
    });
    const results = await Promise.allSettled([first, orphan, insert(kysely, 2)]);
    for (const result of results) {
      expect(result).toMatchObject({ status: 'rejected', reason: { code: 'SQLITE_CONSTRAINT_FOREIGNKEY' } });
    }
    expect(ids()).toEqual([]);
    expect(db.prepare('SELECT count(*) AS n FROM child').get()).toEqual({ n: 0 });
    expect(db.inTransaction).toBe(false);
    await insert(kysely, 5);
    expect(ids()).toEqual([5]);
  });

  it('bounds a group: a burst of 300 transactions commits in two groups', async () => {
    const { kysely, log, ids } = open();
    await Promise.all(Array.from({ length: 300 }, (_, i) => insert(kysely, i + 1)));
    expect(log.filter((word) => word === 'commit')).toHaveLength(2);
    expect(ids()).toHaveLength(300);
  });

  it('commits at the end of the turn when nothing else comes', async () => {
    const { db, kysely, log } = open();
    await insert(kysely, 1);
    expect(log.at(-1)).toBe('commit');
    expect(db.inTransaction).toBe(false);
    // A transaction of a later turn opens a group of its own.
    await insert(kysely, 2);
    expect(log.filter((word) => word === 'begin')).toHaveLength(2);
  });

  it('commits an open group before the connection closes', async () => {
    const { db, kysely, untilLogged } = openLogged();
    const written = insert(kysely, 7);
    await untilLogged('release');
    const closing = kysely.destroy();
    await expect(written).resolves.toBe(7);
    await closing;
    expect(db.open).toBe(false);
  });
});
