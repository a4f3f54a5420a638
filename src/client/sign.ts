// Runs unchanged in Node 20 and in the browser console: Web Crypto only, no node: imports.
import { canonicalQuery, v3CanonicalRequest } from '../api/signature/signed-request.js';

export interface Credentials {
  /** `http://HOST:PORT` (or https); the browser console passes its own origin. */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}

/** ECS; other products served on the same endpoint: ResourceManager 2020-03-31, OOS 2019-06-01. */
export const ecsVersion = '2014-05-26';

const algorithm = 'ACS3-HMAC-SHA256';
const encoder = new TextEncoder();
const emptySha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const hex = (bytes: ArrayBuffer): string =>
  Array.from(new Uint8Array(bytes), (byte) => byte.toString(16).padStart(2, '0')).join('');

async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? encoder.encode(data) : data));
}

async function hmacSha256Hex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return hex(await crypto.subtle.sign('HMAC', key, encoder.encode(text)));
}

function nonce(): string {
  return hex(crypto.getRandomValues(new Uint8Array(16)).buffer);
}

/** Bytes sent as the body (UploadFilePart's part): V3 signs their SHA-256 and their type. */
export interface CallBody {
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly type: string;
}

export interface SignedCall {
  readonly url: string;
  /** Everything to send; `host` is left out (fetch sets it) but signed. */
  readonly headers: Record<string, string>;
}

/** Signs one call as the official SDK does: POST /, parameters in the query, V3 headers. */
export async function signCall(
  credentials: Credentials,
  action: string,
  params: ReadonlyMap<string, string>,
  version = ecsVersion,
  body?: CallBody,
): Promise<SignedCall> {
  const url = new URL(credentials.endpoint);
  const bodySha256 = body ? await sha256Hex(body.bytes) : emptySha256;
  const headers: Record<string, string> = {
    ...(body && { 'content-type': body.type }),
    host: url.host,
    'x-acs-action': action,
    'x-acs-version': version,
    'x-acs-date': `${new Date().toISOString().slice(0, 19)}Z`,
    'x-acs-signature-nonce': nonce(),
    'x-acs-content-sha256': bodySha256,
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = v3CanonicalRequest(
    { method: 'POST', path: '/', query: params, headers },
    signedHeaders,
    bodySha256,
  );
  const signature = await hmacSha256Hex(
    credentials.accessKeySecret,
    `${algorithm}\n${await sha256Hex(canonical)}`,
  );
  const { host: _host, ...sent } = headers;
  sent.authorization = `${algorithm} Credential=${credentials.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  const query = canonicalQuery(params);
  return { url: `${url.origin}/${query ? `?${query}` : ''}`, headers: sent };
}
