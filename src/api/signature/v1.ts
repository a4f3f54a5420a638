import { createHmac } from 'node:crypto';
import { canonicalQuery, percentEncode, type SignedRequest } from './signed-request.js';

/** V1 RPC HMAC-SHA1 (fact sheet §3): every parameter but Signature, canonicalised and signed. */
export function v1Signature(request: SignedRequest, secret: string): string {
  const stringToSign = `${request.method.toUpperCase()}&${percentEncode('/')}&${percentEncode(
    canonicalQuery(request.params, 'Signature'),
  )}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign).digest('base64');
}
