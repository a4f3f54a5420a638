import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { NonceRepo } from '../store.js';

export function nonceRepo(db: Kysely<Schema>): NonceRepo {
  return {
    async claim(accessKeyId, nonce, expiresAtMs) {
      const result = await db
        .insertInto('nonces')
        .values({ access_key_id: accessKeyId, nonce, expires_at: expiresAtMs })
        .onConflict((oc) => oc.columns(['access_key_id', 'nonce']).doNothing())
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
    },
    async purgeExpired(nowMs) {
      const result = await db.deleteFrom('nonces').where('expires_at', '<', nowMs).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
