import { createHash, createHmac } from 'node:crypto';
import { type SignedRequest, v3CanonicalRequest } from './signed-request.js';

export const v3Algorithm = 'ACS3-HMAC-SHA256';

export interface V3Authorization {
  readonly accessKeyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** Parses `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`; undefined when malformed. */
export function parseV3Authorization(header: string): V3Authorization | undefined {
  if (!header.startsWith(`${v3Algorithm} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(v3Algorithm.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signedHeaders || !signature) return undefined;
  return { accessKeyId, signedHeaders: signedHeaders.split(';'), signature };
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

export function v3Signature(
  request: SignedRequest,
  signedHeaders: readonly string[],
  secret: string,
): string {
  const bodyHash = request.headers['x-acs-content-sha256'] ?? sha256Hex(request.body);
  const stringToSign = `${v3Algorithm}\n${sha256Hex(v3CanonicalRequest(request, signedHeaders, bodyHash))}`;
  return createHmac('sha256', secret).update(stringToSign).digest('hex');
}

export const bodySha256 = (body: Buffer): string => sha256Hex(body);
