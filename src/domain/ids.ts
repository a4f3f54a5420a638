import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

// Random bytes for ids are drawn 4 KiB at a time, as Node draws them for randomUUID: one
// randomBytes(16) a call cost 8 µs of every InvokeCommand (a CPU profile). Each byte is handed out
// once. Secrets and tokens still get fresh bytes of their own, kept in no shared buffer.
const idBytes = Buffer.alloc(4096);
let idBytesUsed = idBytes.length;

const hex = (bytes: number): string => {
  if (idBytesUsed + bytes > idBytes.length) {
    randomFillSync(idBytes);
    idBytesUsed = 0;
  }
  idBytesUsed += bytes;
  return idBytes.toString('hex', idBytesUsed - bytes, idBytesUsed);
};

/** `c-` + 32 lowercase hex characters, the shape of Alibaba's command ids. */
export const newCommandId = (): string => `c-${hex(16)}`;

/** `t-` + 32 lowercase hex characters: invocation ids. */
export const newInvokeId = (): string => `t-${hex(16)}`;

/** `f-` + 32 lowercase hex characters: SendFile's invocation ids (Alibaba's are `f-` too). */
export const newFileInvokeId = (): string => `f-${hex(16)}`;

/** `up-` + 32 lowercase hex characters: file uploads (OpenAssist's extension for files over 32 KB). */
export const newUploadId = (): string => `up-${hex(16)}`;

/** `s-` + 32 lowercase hex characters: terminal sessions (Alibaba's are `s-` too). */
export const newSessionId = (): string => `s-${hex(16)}`;

/** A session's one-time SecurityToken: 256 random bits, base64url. */
export const newSessionToken = (): string => randomBytes(32).toString('base64url');

/** Request ids look like Alibaba's: an upper-case UUID. */
export const newRequestId = (): string => randomUUID().toUpperCase();

const keyAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomText(length: number): string {
  const bytes = randomBytes(length);
  let text = '';
  // 256 % 62 bias is negligible for identifiers; secrets get 30 chars (~178 bits).
  for (const byte of bytes) text += keyAlphabet[byte % keyAlphabet.length];
  return text;
}

/** AccessKey ids follow Alibaba's `LTAI` + 20 characters; secrets are 30 characters. */
export const newAccessKeyId = (): string => `LTAI${randomText(20)}`;
export const newAccessKeySecret = (): string => randomText(30);
