import { timingSafeEqual } from 'node:crypto';
import { ApiError } from '../../domain/errors.js';
import type { AccessKey, AccessKeyRepo, NonceRepo } from '../../store/store.js';
import type { SignedRequest } from './signed-request.js';
import { v1Signature } from './v1.js';
import { bodySha256, parseV3Authorization, v3Algorithm, v3Signature } from './v3.js';

// Alibaba accepts request times within 15 minutes of its own clock.
export const timestampWindowMs = 15 * 60 * 1000;
// A nonce is remembered while a request carrying it could still pass the time check.
const nonceMemoryMs = 2 * timestampWindowMs;

export interface AuthDeps {
  readonly accessKeys: Pick<AccessKeyRepo, 'get'>;
  readonly nonces: NonceRepo;
  readonly nowMs: () => number;
}

/** What a request claims about itself before its signature is checked. */
interface Claim {
  readonly accessKeyId: string;
  readonly nonce: string;
  readonly timestamp: string;
  readonly signature: string;
  readonly expected: (secret: string) => string;
}

const incomplete = (why: string) => new ApiError('IncompleteSignature', why);

function v3Claim(request: SignedRequest, authorization: string): Claim {
  if (!authorization.startsWith(`${v3Algorithm} `)) {
    throw incomplete(`Unsupported signature algorithm; use ${v3Algorithm}.`);
  }
  const parsed = parseV3Authorization(authorization);
  if (!parsed) throw incomplete('The Authorization header needs Credential, SignedHeaders and Signature.');
  for (const name of ['x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (!request.headers[name]) throw incomplete(`The ${name} header is missing.`);
  }
  // Every header that steers the request must be covered by the signature.
  const signed = new Set(parsed.signedHeaders);
  for (const name of Object.keys(request.headers)) {
    const mustSign = name === 'host' || name === 'content-type' || name.startsWith('x-acs-');
    if (mustSign && request.headers[name] !== undefined && !signed.has(name)) {
      throw incomplete(`The ${name} header must be listed in SignedHeaders.`);
    }
  }
  if (request.headers['x-acs-content-sha256'] !== bodySha256(request.body)) {
    throw new ApiError('SignatureDoesNotMatch', 'The body does not match x-acs-content-sha256.');
  }
  return {
    accessKeyId: parsed.accessKeyId,
    nonce: request.headers['x-acs-signature-nonce'] ?? '',
    timestamp: request.headers['x-acs-date'] ?? '',
    signature: parsed.signature,
    expected: (secret) => v3Signature(request, parsed.signedHeaders, secret),
  };
}

function v1Claim(request: SignedRequest): Claim {
  const param = (name: string): string => {
    const value = request.params.get(name);
    if (!value) throw incomplete(`The ${name} parameter is missing.`);
    return value;
  };
  if (param('SignatureMethod') !== 'HMAC-SHA1') throw incomplete('SignatureMethod must be HMAC-SHA1.');
  if (param('SignatureVersion') !== '1.0') throw incomplete('SignatureVersion must be 1.0.');
  return {
    accessKeyId: param('AccessKeyId'),
    nonce: param('SignatureNonce'),
    timestamp: param('Timestamp'),
    signature: param('Signature'),
    expected: (secret) => v1Signature(request, secret),
  };
}

/**
 * Which signature a request carries: V3 (an Authorization header), V1 (a Signature parameter and
 * no Authorization header) or none. V1 signs only the parameters, so a V1 request is steered by
 * its parameters alone, never by headers.
 */
export function signatureKind(request: Pick<SignedRequest, 'headers' | 'params'>): 'v3' | 'v1' | 'none' {
  if (request.headers.authorization) return 'v3';
  return request.params.has('Signature') ? 'v1' : 'none';
}

function readClaim(request: SignedRequest): Claim {
  const kind = signatureKind(request);
  if (kind === 'v3') return v3Claim(request, request.headers.authorization ?? '');
  if (kind === 'v1') return v1Claim(request);
  throw incomplete(
    'The request is not signed: send an ACS3-HMAC-SHA256 Authorization header or a V1 Signature.',
  );
}

function checkTimestamp(timestamp: string, nowMs: number): void {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(timestamp)
    ? Date.parse(timestamp)
    : Number.NaN;
  if (Number.isNaN(ms)) throw new ApiError('InvalidTimeStamp.Format', `Got "${timestamp.slice(0, 40)}".`);
  if (Math.abs(ms - nowMs) > timestampWindowMs) {
    throw new ApiError(
      'InvalidTimeStamp.Expired',
      `Request time ${timestamp}, server time ${new Date(nowMs).toISOString()}.`,
    );
  }
}

const sameText = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

/**
 * Verifies a V3 or V1 signature and returns the caller's key. Order: shape of the signature, time,
 * key, signature, then the nonce (claimed only for a genuine request, so forgeries burn nothing).
 */
export async function authenticate(request: SignedRequest, deps: AuthDeps): Promise<AccessKey> {
  const claim = readClaim(request);
  const nowMs = deps.nowMs();
  checkTimestamp(claim.timestamp, nowMs);
  const key = await deps.accessKeys.get(claim.accessKeyId);
  if (!key) throw new ApiError('InvalidAccessKeyId.NotFound');
  if (key.status !== 'Active') throw new ApiError('InvalidAccessKeyId.Inactive');
  if (!sameText(claim.signature, claim.expected(key.secret))) throw new ApiError('SignatureDoesNotMatch');
  if (claim.nonce.length > 128) throw incomplete('The signature nonce is longer than 128 characters.');
  if (!(await deps.nonces.claim(key.id, claim.nonce, nowMs + nonceMemoryMs)))
    throw new ApiError('SignatureNonceUsed');
  return key;
}
