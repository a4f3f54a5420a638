import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { NonceRepo } from '../store.js';

interface Claim {
  readonly accessKeyId: string;
  readonly nonce: string;
  readonly expiresAtMs: number;
  readonly settle: (claimed: boolean) => void;
  readonly fail: (error: unknown) => void;
}

// Bound values per statement stay far below both databases' limits (3 per claim).
const maxClaimsPerStatement = 1_000;

/**
 * Claims made during one turn of the event loop share one INSERT (and, outside a transaction, one
 * commit): under load the commit of a claim per request cost more than the rest of the insert.
 * Each request still waits until its own claim is stored; RETURNING tells which rows were new.
 */
export function nonceRepo(db: Kysely<Schema>): NonceRepo {
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
      const inserted = await db
        .insertInto('nonces')
        .values(
          rows.map((c) => ({ access_key_id: c.accessKeyId, nonce: c.nonce, expires_at: c.expiresAtMs })),
        )
        .onConflict((oc) => oc.columns(['access_key_id', 'nonce']).doNothing())
        .returning(['access_key_id', 'nonce'])
        .execute();
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
