import { ApiError } from './errors.js';

export type ContentEncoding = 'PlainText' | 'Base64';

/** Reads a `ContentEncoding` value; the wire is case-insensitive about it, absent means `fallback`. */
export function parseContentEncoding(value: string | undefined, fallback: ContentEncoding): ContentEncoding {
  if (value === undefined || value === '') return fallback;
  const lower = value.toLowerCase();
  if (lower === 'plaintext') return 'PlainText';
  if (lower === 'base64') return 'Base64';
  throw new ApiError(
    'InvalidParameter.ContentEncoding',
    `"${value.slice(0, 40)}" is neither PlainText nor Base64.`,
  );
}

const strictBase64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Normalises command content to its canonical Base64 form, rejecting anything that is not Base64. */
export function toBase64(content: string, encoding: ContentEncoding): string {
  if (encoding === 'PlainText') return Buffer.from(content, 'utf8').toString('base64');
  if (!strictBase64.test(content)) throw new ApiError('CmdContent.DecodeError');
  return content;
}

/** Renders stored Base64 content in the encoding a Describe call asked for. */
export const fromBase64 = (base64: string, encoding: ContentEncoding): string =>
  encoding === 'Base64' ? base64 : Buffer.from(base64, 'base64').toString('utf8');
