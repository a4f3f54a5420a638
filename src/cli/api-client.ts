import { createHash, randomBytes } from 'node:crypto';
import { canonicalQuery, type SignedRequest } from '../api/signature/signed-request.js';
import { v3Algorithm, v3Signature } from '../api/signature/v3.js';

export interface ClientOptions {
  /** `http://HOST:PORT` */
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** ECS; other products served on the same endpoint: ResourceManager 2020-03-31, OOS 2019-06-01. */
export const ecsVersion = '2014-05-26';

const emptySha256 = createHash('sha256').update('').digest('hex');

/** Signs one call the way the official SDK does: POST /, parameters in the query, V3 headers. */
export function signV3(
  options: ClientOptions,
  action: string,
  params: ReadonlyMap<string, string>,
  version = ecsVersion,
): { url: string; headers: Record<string, string> } {
  const url = new URL(options.endpoint);
  const headers: Record<string, string> = {
    host: url.host,
    'x-acs-action': action,
    'x-acs-version': version,
    'x-acs-date': `${new Date().toISOString().slice(0, 19)}Z`,
    'x-acs-signature-nonce': randomBytes(32).toString('hex'),
    'x-acs-content-sha256': emptySha256,
  };
  const signedHeaders = Object.keys(headers).sort();
  const request: SignedRequest = {
    method: 'POST',
    path: '/',
    query: params,
    params,
    headers,
    body: Buffer.alloc(0),
  };
  const signature = v3Signature(request, signedHeaders, options.accessKeySecret);
  headers.authorization = `${v3Algorithm} Credential=${options.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return { url: `${url.origin}/?${canonicalQuery(params)}`, headers };
}

/** Calls one action and returns the status and the parsed body. */
export async function callApi(
  options: ClientOptions,
  action: string,
  params: ReadonlyMap<string, string>,
  version = ecsVersion,
): Promise<ApiResponse> {
  const { url, headers } = signV3(options, action, params, version);
  const { host: _host, ...sent } = headers;
  const response = await fetch(url, { method: 'POST', headers: sent });
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { Code: 'InvalidResponse', Message: text.slice(0, 500) };
  }
  return { status: response.status, body };
}
