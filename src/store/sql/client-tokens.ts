import type { Kysely } from 'kysely';
import type { Schema } from '../schema.js';
import type { ClientTokenRepo, TokenScope } from '../store.js';

export function clientTokenRepo(db: Kysely<Schema>): ClientTokenRepo {
  const where = (scope: TokenScope) =>
    db
      .selectFrom('client_tokens')
      .select(['request_hash', 'state', 'response'])
      .where('owner', '=', scope.owner)
      .where('action', '=', scope.action)
      .where('token', '=', scope.token);

  return {
    async claim(scope, requestHash, nowMs) {
      const inserted = await db
        .insertInto('client_tokens')
        .values({ ...scope, request_hash: requestHash, state: 'processing', response: '', created_at: nowMs })
        .onConflict((oc) => oc.columns(['owner', 'action', 'token']).doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return { outcome: 'claimed' };
      const row = await where(scope).executeTakeFirst();
      // Released between our insert and this read: the caller may simply try again.
      if (!row) return { outcome: 'seen', requestHash: requestHash, state: 'processing', response: '' };
      return {
        outcome: 'seen',
        requestHash: row.request_hash,
        state: row.state === 'done' ? 'done' : 'processing',
        response: row.response,
      };
    },
    async complete(scope, response) {
      await db
        .updateTable('client_tokens')
        .set({ state: 'done', response })
        .where('owner', '=', scope.owner)
        .where('action', '=', scope.action)
        .where('token', '=', scope.token)
        .execute();
    },
    async release(scope) {
      await db
        .deleteFrom('client_tokens')
        .where('owner', '=', scope.owner)
        .where('action', '=', scope.action)
        .where('token', '=', scope.token)
        .where('state', '=', 'processing')
        .execute();
    },
    async purgeOlderThan(beforeMs) {
      const result = await db
        .deleteFrom('client_tokens')
        .where('created_at', '<', beforeMs)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
