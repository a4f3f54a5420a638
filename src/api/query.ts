import { ApiError } from '../domain/errors.js';

// Bounds on what one request may carry; CommandContent (24 KB of Base64) percent-encoded is the largest value.
export const maxParameters = 500;
export const maxKeyLength = 256;

function decode(text: string, where: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    throw new ApiError('InvalidParameter', `The ${where} has malformed percent-encoding or is not UTF-8.`);
  }
}

/**
 * Decodes `a=1&b=2` (a query string or an x-www-form-urlencoded body) into a map. `+` is a space,
 * as in HTML forms. A key given twice is refused: which one was meant cannot be known.
 */
export function parseUrlEncoded(
  text: string,
  where: string,
  into = new Map<string, string>(),
): Map<string, string> {
  if (text === '') return into;
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), where);
    const value = eq < 0 ? '' : decode(pair.slice(eq + 1), where);
    if (key === '') throw new ApiError('InvalidParameter', `The ${where} has a parameter without a name.`);
    if (key.length > maxKeyLength) throw new ApiError('InvalidParameter', `A parameter name is too long.`);
    if (into.has(key))
      throw new ApiError('InvalidParameter', `The parameter ${key.slice(0, 80)} is given twice.`);
    if (into.size >= maxParameters) {
      throw new ApiError('InvalidParameter', `The request has more than ${maxParameters} parameters.`);
    }
    into.set(key, value);
  }
  return into;
}

/** Splits a request target into path and raw query string. */
export function splitTarget(url: string): { path: string; rawQuery: string } {
  const mark = url.indexOf('?');
  return mark < 0 ? { path: url, rawQuery: '' } : { path: url.slice(0, mark), rawQuery: url.slice(mark + 1) };
}
