import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { describe, expect, it } from 'vitest';
import { sqliteDialect } from './sqlite.js';

interface Table {
  t: { x: Buffer };
}

describe('SQLite transactions on a full database', () => {
  it('fail with the real error (SQLITE_FULL), not a second rollback, and work again once space returns', async () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (x BLOB)');
    const kysely = new Kysely<Table>({ dialect: sqliteDialect(db) });
    // A page limit is a full disk as SQLite sees it: it ends the whole transaction by itself.
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const write = (bytes: number) =>
      kysely.transaction().execute(async (trx) => {
        await trx
          .insertInto('t')
          .values({ x: Buffer.alloc(100) })
          .execute();
        await trx
          .insertInto('t')
          .values({ x: Buffer.alloc(bytes) })
          .execute();
      });
    await expect(write(100_000)).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    expect(db.inTransaction).toBe(false);
    db.pragma('max_page_count = 1000000');
    await write(100_000);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 2 });
    await kysely.destroy();
  });
});
