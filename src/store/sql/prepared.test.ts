import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Schema } from '../schema.js';
import { migrateSqlite } from '../sqlite.js';
import { maxPreparedShapes, prepared } from './prepared.js';

describe('prepared queries', () => {
  let db: Kysely<Schema>;
  beforeEach(() => {
    const file = new Database(':memory:');
    migrateSqlite(file);
    db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: file }) });
  });

  const insertKeys = prepared((db, rows: { id: string; secret: string; created_at: number }[]) =>
    db
      .insertInto('access_keys')
      .values(
        rows.map((row) => ({ ...row, status: 'Active', description: '', policy: '', resource_group_id: '' })),
      ),
  );

  it('runs with each call’s values, a list compiled once per length', async () => {
    const byIds = prepared((db, ids: string[], status: string) =>
      db
        .selectFrom('access_keys')
        .select('id')
        .where('id', 'in', ids)
        .where('status', '=', status)
        .orderBy('id'),
    );
    await insertKeys(db, [
      { id: 'a', secret: 's', created_at: 1 },
      { id: 'b', secret: 's', created_at: 2 },
      { id: 'c', secret: 's', created_at: 3 },
    ]);
    expect((await byIds(db, ['a'], 'Active')).rows).toEqual([{ id: 'a' }]);
    expect((await byIds(db, ['c'], 'Active')).rows).toEqual([{ id: 'c' }]);
    expect((await byIds(db, ['a', 'c', 'x'], 'Active')).rows).toEqual([{ id: 'a' }, { id: 'c' }]);
    expect((await byIds(db, ['b'], 'Inactive')).rows).toEqual([]);
  });

  it('binds rows to insert, and runs inside a transaction', async () => {
    const stamp = prepared((db, id: string, atMs: number) =>
      db
        .updateTable('access_keys')
        .set({ created_at: sql<number>`created_at + ${atMs}` })
        .where('id', '=', id),
    );
    await db.transaction().execute(async (trx) => {
      await insertKeys(trx, [{ id: 'k', secret: 'x', created_at: 5 }]);
      await stamp(trx, 'k', 10);
    });
    const row = await db.selectFrom('access_keys').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ id: 'k', secret: 'x', created_at: 15, status: 'Active' });
  });

  it('keeps answering right when more shapes come than it keeps compiled', async () => {
    const byIds = prepared((db, ids: string[]) =>
      db.selectFrom('access_keys').select('id').where('id', 'in', ids),
    );
    await insertKeys(db, [{ id: 'k', secret: 's', created_at: 1 }]);
    for (let length = 1; length <= 100; length++) {
      const ids = Array.from({ length }, (_, i) => (i === length - 1 ? 'k' : `missing-${i}`));
      expect((await byIds(db, ids)).rows).toEqual([{ id: 'k' }]);
    }
    expect((await byIds(db, ['k'])).rows).toEqual([{ id: 'k' }]);
  });

  it('keeps at most its bound of shapes compiled, forgetting the oldest first', async () => {
    let builds = 0;
    const byIds = prepared((db, ids: string[]) => {
      builds++;
      return db.selectFrom('access_keys').select('id').where('id', 'in', ids);
    });
    const ofLength = (length: number) =>
      byIds(
        db,
        Array.from({ length }, (_, i) => `k-${i}`),
      );
    for (let length = 1; length <= maxPreparedShapes; length++) await ofLength(length);
    expect(builds).toBe(maxPreparedShapes);
    // Every shape so far is still compiled.
    await ofLength(1);
    await ofLength(maxPreparedShapes);
    expect(builds).toBe(maxPreparedShapes);
    // One more shape pushes out the oldest (length 1), and only it.
    await ofLength(maxPreparedShapes + 1);
    await ofLength(2);
    expect(builds).toBe(maxPreparedShapes + 1);
    await ofLength(1);
    expect(builds).toBe(maxPreparedShapes + 2);
  });

  it('binds values found deep in the arguments: items of lists and named values of rows', async () => {
    const byFilter = prepared((db, filter: { ids: string[]; status?: string }) =>
      db
        .selectFrom('access_keys')
        .select('id')
        .where('id', 'in', filter.ids)
        .$if(filter.status !== undefined, (q) => q.where('status', '=', filter.status ?? ''))
        .orderBy('id'),
    );
    await insertKeys(db, [
      { id: 'a', secret: 's', created_at: 1 },
      { id: 'b', secret: 's', created_at: 2 },
    ]);
    expect((await byFilter(db, { ids: ['a', 'b'] })).rows).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect((await byFilter(db, { ids: ['b', 'a'], status: 'Active' })).rows).toEqual([
      { id: 'a' },
      { id: 'b' },
    ]);
    expect((await byFilter(db, { ids: ['a', 'b'], status: 'Inactive' })).rows).toEqual([]);
  });

  it('refuses an argument that would land in the SQL text', async () => {
    const raw = prepared((db, column: string) =>
      db.selectFrom('access_keys').select(sql.raw<string>(column).as('c')),
    );
    await expect(raw(db, 'id')).rejects.toThrow(/bind every argument/);
  });
});
