import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dropSchema,
  newSchemaName,
  postgresAvailable,
  postgresBaseUrl,
} from '../../test/helpers/postgres.js';
import { maxNamedTextChars, namedStatementPool, StatementNames } from './postgres-statements.js';

// Statements sent as named prepared statements (the README's Performance has the figures): each is
// parsed once per connection, answers as before, stays within its bound, and survives another
// node changing the table under a prepared `SELECT *`.

interface Tables {
  items: { id: number; label: string };
}

/** A name for `text`: asked twice, as a statement run twice. */
function named(names: StatementNames, text: string): string | undefined {
  names.of(text);
  return names.of(text);
}

describe('StatementNames', () => {
  it('names a text on its second run, the same way every time and in every process', () => {
    const names = new StatementNames();
    expect(names.of('select 1')).toBeUndefined();
    const name = names.of('select 1');
    expect(name).toMatch(/^oa_[0-9a-f]{24}$/);
    expect(names.of('select 1')).toBe(name);
    expect(named(new StatementNames(), 'select 1')).toBe(name);
    expect(named(names, 'select 2')).not.toBe(name);
  });

  it('leaves transaction control unnamed, and texts past its bound', () => {
    const names = new StatementNames(2);
    expect(named(names, 'BEGIN')).toBeUndefined();
    expect(named(names, '  commit')).toBeUndefined();
    expect(named(names, 'select 1')).toBeDefined();
    expect(named(names, 'select 2')).toBeDefined();
    expect(named(names, 'select 3')).toBeUndefined();
    expect(names.of('select 1')).toBeDefined();
    expect(names.size).toBe(2);
  });

  it('leaves long texts unnamed and does not remember them', () => {
    const names = new StatementNames();
    const long = `select ${'1, '.repeat(maxNamedTextChars / 3)}1`;
    expect(named(names, long)).toBeUndefined();
    expect(names.size).toBe(0);
  });

  it('runs a text unnamed once told to', () => {
    const names = new StatementNames();
    expect(named(names, 'select 1')).toBeDefined();
    names.unname('select 1');
    expect(names.of('select 1')).toBeUndefined();
  });
});

const available = await postgresAvailable();

describe.skipIf(!available)('namedStatementPool on PostgreSQL', () => {
  const schema = newSchemaName();
  // One connection, so what it prepared can be read back from it.
  const pool = new pg.Pool({
    connectionString: postgresBaseUrl,
    max: 1,
    options: `-c search_path=${schema}`,
  });
  const names = new StatementNames(8);
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool: namedStatementPool(pool, names) }) });
  const prepared = async () =>
    (await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db)).rows.map(
      (row) => row.statement,
    );

  beforeAll(async () => {
    const setup = new pg.Client({ connectionString: postgresBaseUrl });
    await setup.connect();
    await setup.query(`CREATE SCHEMA ${schema}`);
    await setup.end();
    await sql`CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT NOT NULL)`.execute(db);
  });
  afterAll(async () => {
    await db.destroy();
    await dropSchema(schema);
  });

  it('prepares a statement once on its connection and answers as an unnamed one would', async () => {
    await db
      .insertInto('items')
      .values([
        { id: 1, label: 'one' },
        { id: 2, label: 'two' },
      ])
      .execute();
    const byIdQuery = (id: number) => db.selectFrom('items').selectAll().where('id', '=', id);
    const byId = (id: number) => byIdQuery(id).execute();
    expect(await byId(1)).toEqual([{ id: 1, label: 'one' }]);
    expect(await byId(2)).toEqual([{ id: 2, label: 'two' }]);
    const text = byIdQuery(1).compile().sql;
    expect((await prepared()).filter((statement) => statement === text)).toHaveLength(1);
    // Transactions work around named statements as before.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('items').set({ label: 'uno' }).where('id', '=', 1).execute();
    });
    expect(await byId(1)).toEqual([{ id: 1, label: 'uno' }]);
  });

  it('answers when the prepared statement is gone from the server connection (a pooler), then unnamed', async () => {
    const byLabel = () => db.selectFrom('items').select('id').where('label', '=', 'two');
    const text = byLabel().compile().sql;
    expect(await byLabel().execute()).toEqual([{ id: 2 }]);
    expect(await byLabel().execute()).toEqual([{ id: 2 }]);
    const name = names.of(text);
    expect(name).toBeDefined();
    // As if a pooler in transaction mode had moved the client to another server connection.
    await sql.raw(`DEALLOCATE ${name}`).execute(db);
    expect(await byLabel().execute()).toEqual([{ id: 2 }]);
    expect(names.of(text)).toBeUndefined();
  });

  it('keeps to its bound: texts past it run unnamed', async () => {
    for (let i = 0; i < 12; i++) {
      for (let run = 0; run < 2; run++) {
        await sql`SELECT ${sql.lit(i)} AS n, label FROM items WHERE id = ${1}`.execute(db);
      }
    }
    expect(names.size).toBe(8);
    expect((await prepared()).length).toBeLessThanOrEqual(8);
  });

  it('answers a prepared SELECT * after another connection added a column (then unnamed)', async () => {
    const fresh = new StatementNames();
    const other = new Kysely<Tables>({
      dialect: new PostgresDialect({
        pool: namedStatementPool(
          new pg.Pool({ connectionString: postgresBaseUrl, max: 1, options: `-c search_path=${schema}` }),
          fresh,
        ),
      }),
    });
    try {
      const query = () => other.selectFrom('items').selectAll().orderBy('id').execute();
      expect((await query()).length).toBe(2);
      expect((await query()).length).toBe(2);
      await sql`ALTER TABLE items ADD COLUMN note TEXT NOT NULL DEFAULT 'n'`.execute(db);
      // PostgreSQL refuses the prepared plan (its result type changed); it runs again unnamed.
      expect(await query()).toEqual([
        { id: 1, label: 'uno', note: 'n' },
        { id: 2, label: 'two', note: 'n' },
      ]);
      expect(fresh.of(other.selectFrom('items').selectAll().orderBy('id').compile().sql)).toBeUndefined();
      // The first connection's prepared SELECT * by id too.
      expect(await db.selectFrom('items').selectAll().where('id', '=', 2).execute()).toEqual([
        { id: 2, label: 'two', note: 'n' },
      ]);
    } finally {
      await other.destroy();
    }
  });
});
