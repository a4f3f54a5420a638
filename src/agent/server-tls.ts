import type { IncomingMessage } from 'node:http';
import { isRecord } from '../guards.js';

// OpenSSL's and Node's codes for a server certificate that cannot be trusted or does not name the host.
const certificateCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * What to tell the operator when a connection failed because the server's certificate was not
 * trusted; undefined for any other failure. Nothing was sent to that server: TLS failed first.
 */
export function certificateProblem(error: unknown, serverUrl: string): string | undefined {
  const { code, message }: { code?: unknown; message?: unknown } = isRecord(error) ? error : {};
  if (typeof code !== 'string' || !certificateCodes.has(code)) return undefined;
  return (
    `refusing ${serverUrl}: its certificate cannot be verified (${code}: ${String(message)}); ` +
    'pass the CA that signed it with --ca FILE (OPENASSIST_AGENT_CA)'
  );
}

/** The `Code` of an API error body, or the HTTP status when the body has none. */
export function refusalCode(status: number, body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    const code = isRecord(parsed) ? parsed.Code : undefined;
    if (typeof code === 'string' && code !== '') return code;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${status}`;
}

/** Reads a small response body (an error body), at most 4 KiB of it. */
export function readSmallBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (text.length < 4096) text += chunk;
    });
    response.on('end', () => resolve(text.slice(0, 4096)));
    response.on('error', () => resolve(text));
    response.on('close', () => resolve(text));
  });
}
