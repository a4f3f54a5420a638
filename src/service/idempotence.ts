import { createHash } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import type { AccessKey, Store, TokenScope } from '../store/store.js';
import type { SecretBox } from './secret-box.js';

/** Actions that take ClientToken (fact sheet §1) among those this server implements. */
export const idempotentActions: ReadonlySet<string> = new Set([
  'CreateActivation',
  'CreateCommand',
  'InvokeCommand',
  'RunCommand',
  'SendFile',
  'DeregisterManagedInstance',
  'ModifyInvocationAttribute',
  'CreateFileUpload',
  'StartTerminalSession',
]);

/**
 * Tokens belong to the access key that sent them: another key (one scoped to a resource group,
 * say) replaying a token must never receive the first key's answer, which may hold a secret
 * (CreateActivation's code) or name resources outside its reach.
 */
export const tokenOwner = (key: Pick<AccessKey, 'id'>): string => `key:${key.id}`;

// Parameters that change between two sends of the same request and so are not part of its identity.
const transportParameters = new Set([
  'Action',
  'Version',
  'Format',
  'Timestamp',
  'SignatureNonce',
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'SignatureType',
  'AccessKeyId',
  'SecurityToken',
  'OwnerId',
  'OwnerAccount',
  'ResourceOwnerId',
  'ResourceOwnerAccount',
]);

/**
 * What makes two requests "the same": the action and every business parameter, order-independent.
 * Taken over the parameters as authorized (a scoped key's group added), which the action runs with.
 */
export function requestHash(action: string, params: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256').update(action);
  for (const key of [...params.keys()].sort()) {
    if (!transportParameters.has(key)) hash.update(`\n${key}=${params.get(key)}`);
  }
  return hash.digest('hex');
}

// Tokens are kept for a day: a client retrying within that time gets the first answer again.
export const tokenRetentionMs = 24 * 3_600_000;

/**
 * ClientToken idempotence on a unique key (tokens kept 24 hours, responses sealed): the first request with a token claims it and runs; a
 * repeat with the same parameters gets the stored response, one with other parameters
 * `IdempotentParameterMismatch`, one while the first still runs `IdempotentProcessing`. A failed
 * request releases its token, so the client may retry it; one that ran keeps it, stored or not.
 */
export class Idempotence {
  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
    /** Stored responses are sealed: a replayed CreateActivation must return its code, kept nowhere in clear. */
    private readonly box: SecretBox,
  ) {}

  async run(
    scope: TokenScope,
    hash: string,
    execute: () => Promise<Record<string, unknown>>,
  ): Promise<Record<string, unknown>> {
    const claim = await this.store.clientTokens.claim(scope, hash, this.nowMs());
    if (claim.outcome === 'seen') {
      if (claim.requestHash !== hash) throw new ApiError('IdempotentParameterMismatch');
      if (claim.state === 'processing') throw new ApiError('IdempotentProcessing');
      // The answer this service stored for the first call, sealed by its own key: an object.
      return JSON.parse(this.box.open(claim.response)) as Record<string, unknown>;
    }
    let body: Record<string, unknown>;
    try {
      body = await execute();
    } catch (error) {
      // A release that fails too (a full disk) must not hide why the request failed; the token
      // then stays claimed, and a retry is answered IdempotentProcessing until it expires.
      await this.store.clientTokens.release(scope).catch(() => undefined);
      throw error;
    }
    // The action ran: should its response not be stored, the token is not released either, so a
    // retry is answered IdempotentProcessing rather than running the action a second time.
    await this.store.clientTokens.complete(scope, this.box.seal(JSON.stringify(body)));
    return body;
  }

  purge(): Promise<number> {
    return this.store.clientTokens.purgeOlderThan(this.nowMs() - tokenRetentionMs);
  }
}
