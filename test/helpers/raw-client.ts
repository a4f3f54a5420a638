import { createHash, randomBytes } from 'node:crypto';
import { canonicalQuery, type SignedRequest } from '../../src/api/signature/signed-request.js';
import { v1Signature } from '../../src/api/signature/v1.js';
import { v3Signature } from '../../src/api/signature/v3.js';

export interface RawOptions {
  readonly url: string;
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly action?: string;
  readonly params?: Record<string, string>;
  readonly method?: string;
  readonly date?: string;
  readonly nonce?: string;
  /** Sent as an x-www-form-urlencoded body instead of the query string. */
  readonly inBody?: boolean;
  readonly extraHeaders?: Record<string, string>;
  /** Header names to leave out of SignedHeaders (they are still sent). */
  readonly unsigned?: readonly string[];
  /** Replaces the query string after signing (to send bytes no signer would produce). */
  readonly rawQuery?: string;
  /** V1: common parameters to leave out (not sent, not signed), e.g. Format or Action. */
  readonly omit?: readonly string[];
  /** How the request travels (default: fetch over the network); in-process tests pass Fastify's inject. */
  readonly send?: Transport;
}

export type Transport = (url: string, init: RequestInit) => Promise<RawResponse>;

export interface RawResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export const nowStamp = (offsetMs = 0): string =>
  `${new Date(Date.now() + offsetMs).toISOString().slice(0, 19)}Z`;

/** The response with its body parsed when it is JSON (an XML or empty body leaves `json` empty). */
export function rawResponse(status: number, contentType: string, text: string): RawResponse {
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // XML or empty
  }
  return { status, contentType, text, json };
}

const fetchTransport: Transport = async (url, init) => {
  const response = await fetch(url, init);
  return rawResponse(response.status, response.headers.get('content-type') ?? '', await response.text());
};

/** A V3-signed request built by hand, so tests can bend any part of it. */
export function v3Raw(options: RawOptions): Promise<RawResponse> {
  const method = options.method ?? 'POST';
  const params = new Map(Object.entries(options.params ?? {}));
  const body = options.inBody ? Buffer.from(canonicalQuery(params)) : Buffer.alloc(0);
  const query = options.inBody ? new Map<string, string>() : params;
  const host = new URL(options.url).host;
  const headers: Record<string, string> = {
    host,
    'x-acs-action': options.action ?? 'DescribeRegions',
    'x-acs-version': '2014-05-26',
    'x-acs-date': options.date ?? nowStamp(),
    'x-acs-signature-nonce': options.nonce ?? randomBytes(32).toString('hex'),
    'x-acs-content-sha256': createHash('sha256').update(body).digest('hex'),
    ...(options.inBody && { 'content-type': 'application/x-www-form-urlencoded' }),
    ...options.extraHeaders,
  };
  const signedHeaders = Object.keys(headers)
    .filter((name) => !options.unsigned?.includes(name))
    .sort();
  const request: SignedRequest = { method, path: '/', query, params: query, headers, body };
  const signature = v3Signature(request, signedHeaders, options.accessKeySecret);
  const { host: _host, ...sent } = headers;
  sent.authorization = `ACS3-HMAC-SHA256 Credential=${options.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  const queryText = options.rawQuery ?? canonicalQuery(query);
  const send = options.send ?? fetchTransport;
  return send(`${options.url}/?${queryText}`, {
    method,
    headers: sent,
    ...(body.length > 0 && { body }),
  });
}

/** A V1-signed request (HMAC-SHA1, everything in parameters). */
export function v1Raw(options: RawOptions): Promise<RawResponse> {
  const method = options.method ?? 'POST';
  const params = new Map(
    Object.entries({
      Action: options.action ?? 'DescribeRegions',
      Version: '2014-05-26',
      Format: 'JSON',
      AccessKeyId: options.accessKeyId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureVersion: '1.0',
      SignatureNonce: options.nonce ?? randomBytes(16).toString('hex'),
      Timestamp: options.date ?? nowStamp(),
      ...options.params,
    }),
  );
  for (const name of options.omit ?? []) params.delete(name);
  const request: SignedRequest = {
    method,
    path: '/',
    query: params,
    params,
    headers: {},
    body: Buffer.alloc(0),
  };
  params.set('Signature', v1Signature(request, options.accessKeySecret));
  const encoded = canonicalQuery(params);
  // V1 signs no header: whatever extraHeaders carry is sent unsigned.
  const headers = { ...options.extraHeaders };
  const send = options.send ?? fetchTransport;
  if (options.inBody) {
    return send(`${options.url}/`, {
      method,
      headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
      body: encoded,
    });
  }
  return send(`${options.url}/?${options.rawQuery ?? encoded}`, { method, headers });
}

/** Creates a resource group through ResourceManager's CreateResourceGroup (version 2020-03-31); returns its id. */
export async function createResourceGroup(options: RawOptions, name: string): Promise<string> {
  const response = await v3Raw({
    ...options,
    action: 'CreateResourceGroup',
    params: { Name: name, DisplayName: name },
    extraHeaders: { 'x-acs-version': '2020-03-31' },
  });
  const group = response.json.ResourceGroup as { Id?: string } | undefined;
  if (response.status !== 200 || !group?.Id) throw new Error(`CreateResourceGroup failed: ${response.text}`);
  return group.Id;
}
