import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../domain/errors.js';
import type { ClientTokenRepo, Store, TokenClaim, TokenScope } from '../store/store.js';
import { Idempotence } from './idempotence.js';
import { SecretBox } from './secret-box.js';

const { SqliteError } = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const full = () => new SqliteError('database or disk is full', 'SQLITE_FULL');

/** Client tokens in memory, whose writes fail as a full disk would while `failing` says so. */
function tokens(failing: { complete: boolean; release: boolean }): ClientTokenRepo {
  const rows = new Map<string, { hash: string; response: string | undefined }>();
  const keyOf = (scope: TokenScope) => `${scope.owner}/${scope.action}/${scope.token}`;
  return {
    async claim(scope, requestHash): Promise<TokenClaim> {
      const row = rows.get(keyOf(scope));
      if (!row) {
        rows.set(keyOf(scope), { hash: requestHash, response: undefined });
        return { outcome: 'claimed' };
      }
      return row.response === undefined
        ? { outcome: 'seen', requestHash: row.hash, state: 'processing', response: '' }
        : { outcome: 'seen', requestHash: row.hash, state: 'done', response: row.response };
    },
    async complete(scope, response) {
      if (failing.complete) throw full();
      const row = rows.get(keyOf(scope));
      if (row) row.response = response;
    },
    async release(scope) {
      if (failing.release) throw full();
      rows.delete(keyOf(scope));
    },
    async purgeOlderThan() {
      return 0;
    },
  };
}

/** The catalogued code a call is refused with. */
const codeOf = (call: Promise<unknown>): Promise<string> =>
  call.then(
    () => 'no error',
    (error: unknown) => (error instanceof ApiError ? error.code : String(error)),
  );

const scope = { owner: 'account', action: 'RunCommand', token: 't-1' };

describe('ClientToken idempotence when the store fails', () => {
  it('never runs an action twice when its response could not be stored', async () => {
    const failing = { complete: true, release: false };
    const idempotence = new Idempotence(
      { clientTokens: tokens(failing) } as unknown as Store,
      Date.now,
      new SecretBox(randomBytes(32)),
    );
    let runs = 0;
    const action = async () => ({ InvokeId: `t-${++runs}` });
    await expect(idempotence.run(scope, 'h', action)).rejects.toMatchObject({ code: 'SQLITE_FULL' });
    failing.complete = false;
    expect(await codeOf(idempotence.run(scope, 'h', action))).toBe('IdempotentProcessing');
    expect(runs).toBe(1);
  });

  it('reports why an action failed even when its token cannot be released', async () => {
    const idempotence = new Idempotence(
      { clientTokens: tokens({ complete: false, release: true }) } as unknown as Store,
      Date.now,
      new SecretBox(randomBytes(32)),
    );
    const refused = async (): Promise<Record<string, unknown>> => {
      throw new ApiError('InvalidCmdId.NotFound');
    };
    expect(await codeOf(idempotence.run(scope, 'h', refused))).toBe('InvalidCmdId.NotFound');
  });
});
