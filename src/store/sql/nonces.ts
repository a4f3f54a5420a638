import { type Kysely, sql } from 'kysely';
import type { Schema } from '../schema.js';
import type { NonceRepo, Store } from '../store.js';

interface Claim {
  readonly accessKeyId: string;
  readonly nonce: string;
  readonly expiresAtMs: number;
  readonly settle: (claimed: boolean) => void;
  readonly fail: (error: unknown) => void;
}

// Bound values per statement stay far below both databases' limits (3 per claim).
const maxClaimsPerStatement = 1_000;

type NonceRow = { access_key_id: string; nonce: string; expires_at: number };
type Inserted = Pick<NonceRow, 'access_key_id' | 'nonce'>;

/**
 * The rows stored, of those given. On PostgreSQL one statement text for every batch size (the rows
 * as three arrays): prepared once per connection, where a VALUES list of each length would be
 * built, compiled and planned anew.
 */
function insertClaims(db: Kysely<Schema>, dialect: Store['dialect'], rows: NonceRow[]): Promise<Inserted[]> {
  if (dialect === 'postgres') {
    return sql<Inserted>`insert into nonces (access_key_id, nonce, expires_at)
      select * from unnest(${rows.map((r) => r.access_key_id)}::text[], ${rows.map((r) => r.nonce)}::text[],
        ${rows.map((r) => r.expires_at)}::bigint[])
      on conflict (access_key_id, nonce) do nothing returning access_key_id, nonce`
      .execute(db)
      .then((result) => result.rows);
  }
  return db
    .insertInto('nonces')
    .values(rows)
    .onConflict((oc) => oc.columns(['access_key_id', 'nonce']).doNothing())
    .returning(['access_key_id', 'nonce'])
    .execute();
}

/**
 * Claims made during one turn of the event loop share one INSERT (and, outside a transaction, one
 * commit): under load the commit of a claim per request cost more than the rest of the insert.
 * Each request still waits until its own claim is stored; RETURNING tells which rows were new.
 */
export function nonceRepo(db: Kysely<Schema>, dialect: Store['dialect']): NonceRepo {
  let waiting: Claim[] = [];

  async function store(claims: readonly Claim[]): Promise<void> {
    // One row per key and nonce: a repeat inside the batch is a replay of the first.
    const first = new Map<string, Claim>();
    for (const claim of claims) {
      const id = `${claim.accessKeyId}\n${claim.nonce}`;
      if (first.has(id)) claim.settle(false);
      else first.set(id, claim);
    }
    const rows = [...first.values()];
    try {
      const inserted = await insertClaims(
        db,
        dialect,
        rows.map((c) => ({ access_key_id: c.accessKeyId, nonce: c.nonce, expires_at: c.expiresAtMs })),
      );
      const fresh = new Set(inserted.map((row) => `${row.access_key_id}\n${row.nonce}`));
      for (const [id, claim] of first) claim.settle(fresh.has(id));
    } catch (error) {
      for (const claim of rows) claim.fail(error);
    }
  }

  function flush(): void {
    const claims = waiting;
    waiting = [];
    for (let start = 0; start < claims.length; start += maxClaimsPerStatement) {
      void store(claims.slice(start, start + maxClaimsPerStatement));
    }
  }

  return {
    claim(accessKeyId, nonce, expiresAtMs) {
      return new Promise<boolean>((settle, fail) => {
        if (waiting.length === 0) setImmediate(flush);
        waiting.push({ accessKeyId, nonce, expiresAtMs, settle, fail });
      });
    },
    async purgeExpired(nowMs) {
      const result = await db.deleteFrom('nonces').where('expires_at', '<', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
