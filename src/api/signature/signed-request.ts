/** What signature verification needs of an HTTP request: method, path, decoded parameters, headers, body. */
export interface SignedRequest {
  readonly method: string;
  readonly path: string;
  /** Decoded query-string parameters only (V3 signs these). */
  readonly query: ReadonlyMap<string, string>;
  /** Decoded query and form-body parameters together (V1 signs these). */
  readonly params: ReadonlyMap<string, string>;
  /** Header values by lower-case name; repeated headers already joined with ','. */
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
}

/** RFC 3986 percent-encoding as Alibaba signs it: encodeURIComponent plus ! ' ( ) *; `~` stays. */
export const percentEncode = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `k=v&k=v` with keys and values percent-encoded and pairs sorted by encoded key (byte order). */
export function canonicalQuery(params: ReadonlyMap<string, string>, skip?: string): string {
  const pairs: [string, string][] = [];
  for (const [key, value] of params) {
    if (key !== skip) pairs.push([percentEncode(key), percentEncode(value)]);
  }
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return pairs.map(([key, value]) => `${key}=${value}`).join('&');
}

/**
 * The canonical request of the fact sheet §2, built from the decoded request, never from the raw URL.
 * Pure (no hashing here), so the browser console and the CLI sign with the same text the server checks.
 */
export function v3CanonicalRequest(
  request: Pick<SignedRequest, 'method' | 'path' | 'query' | 'headers'>,
  signedHeaders: readonly string[],
  bodyHash: string,
): string {
  const headerLines = signedHeaders
    .map((name) => `${name}:${(request.headers[name] ?? '').trim()}\n`)
    .join('');
  return [
    request.method.toUpperCase(),
    request.path,
    canonicalQuery(request.query),
    headerLines,
    signedHeaders.join(';'),
    bodyHash,
  ].join('\n');
}
