import type { FastifyRequest } from 'fastify';
import type { ApiError } from '../domain/errors.js';
import { productOfVersion } from '../domain/policy.js';
import { anonymous, auditEvent, keyIdentity } from '../service/audit-events.js';
import { type AuditTrail, unrecorded } from '../service/audit-trail.js';
import type { AccessKey } from '../store/store.js';
import { signatureKind } from './signature/authenticate.js';
import type { SignedRequest } from './signature/signed-request.js';
import { parseV3Authorization } from './signature/v3.js';

/** What the RPC handler has learnt of a call when its record is made (any of it may be missing). */
export interface RpcCallFacts {
  readonly signed: SignedRequest | undefined;
  readonly key: AccessKey | undefined;
  readonly action: string;
  readonly version: string;
}

/** The key id a request claims, for the record of a call whose signature failed. */
function claimedKeyId(signed: SignedRequest | undefined): string {
  if (!signed) return '';
  const kind = signatureKind(signed);
  if (kind === 'v3') return parseV3Authorization(signed.headers.authorization ?? '')?.accessKeyId ?? '';
  return kind === 'v1' ? (signed.params.get('AccessKeyId') ?? '') : '';
}

/**
 * The web console is a page of this server: a browser marks its calls `Sec-Fetch-Site:
 * same-origin` (scripts cannot set it). Other clients could send it too: it labels, never authorizes.
 */
const sourceOf = (request: FastifyRequest) =>
  request.headers['sec-fetch-site'] === 'same-origin' ? ('console' as const) : ('api' as const);

/**
 * The audit record of one RPC call (docs/audit.md). `store` makes it once, with the call's
 * outcome, and resolves when it is stored; later calls return that first result. It rejects with
 * ServiceUnavailable when the record could not be stored: the call is then not answered as a success.
 */
export function rpcAudit(
  trail: AuditTrail,
  request: FastifyRequest,
  facts: () => RpcCallFacts,
): { store(error?: ApiError): Promise<void> } {
  const timeMs = Date.now();
  let stored: Promise<void> | undefined;
  return {
    store(error) {
      if (!trail.enabled) return Promise.resolve();
      stored ??= (async () => {
        const { signed, key, action, version: checked } = facts();
        // A call refused before its action or version was checked is named as it claimed.
        const version = checked || signed?.params.get('Version') || signed?.headers['x-acs-version'] || '';
        const event = auditEvent(
          {
            timeMs,
            name: action || signed?.params.get('Action') || signed?.headers['x-acs-action'] || '',
            source: sourceOf(request),
            serviceName: productOfVersion[version] ?? 'unknown',
            apiVersion: version,
            requestId: request.id,
            regionId: signed?.params.get('RegionId') ?? '',
            sourceIp: request.ip,
            userAgent: request.headers['user-agent'] ?? '',
            identity: key ? keyIdentity(key) : anonymous(claimedKeyId(signed)),
            params: signed?.params ?? new Map(),
            errorCode: error?.code ?? '',
            errorMessage: error?.message ?? '',
          },
          (value) => trail.digest(value),
        );
        // The trail logs the cause; the caller is told only that its call went unrecorded.
        await trail.record(event).catch(() => {
          throw unrecorded();
        });
      })();
      return stored;
    },
  };
}
