import { ApiError, missingParameter } from './errors.js';

/**
 * The rules of a file upload, OpenAssist's extension for SendFile beyond Alibaba's 32 KB
 * (`docs/file-transfer.md`): the bytes arrive in parts, in order, each at the offset received so
 * far, and the upload is complete once every byte is in and their SHA-256 is the one announced.
 */
export const fileUploadLimits = {
  /** One part, one request body, one stored chunk: what the server holds in memory per request. */
  partBytes: 1024 * 1024,
  /** Uploads of one access key not yet used by a SendFile. */
  pendingPerKey: 10,
  /** An upload no SendFile used is removed this long after it was created. */
  unusedRetentionMs: 24 * 3_600_000,
} as const;

export type FileUploadState = 'Uploading' | 'Complete';

export interface FileUpload {
  readonly id: string;
  readonly regionId: string;
  /** The access key that created it: only that key sees it. */
  readonly owner: string;
  readonly sizeBytes: number;
  /** Lower-case hex. */
  readonly sha256: string;
  readonly receivedBytes: number;
  readonly state: FileUploadState;
  /** The SendFile invocation that uses it; empty while none does. */
  readonly invokeId: string;
  readonly createdAtMs: number;
}

const sha256Hex = /^[0-9a-f]{64}$/;

/** SizeBytes and Sha256 of CreateFileUpload, checked against the server's largest file. */
export function validateUploadRequest(
  sizeBytes: number | undefined,
  sha256: string | undefined,
  maxFileBytes: number,
): { sizeBytes: number; sha256: string } {
  if (sizeBytes === undefined) throw missingParameter('SizeBytes');
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) {
    throw new ApiError('InvalidParameter', 'SizeBytes must be a whole number of at least 1.');
  }
  if (sizeBytes > maxFileBytes) {
    throw new ApiError(
      'InvalidFileSize.ExceedLimit',
      `This server takes files of up to ${maxFileBytes} bytes.`,
    );
  }
  if (sha256 === undefined || sha256 === '') throw missingParameter('Sha256');
  const lower = sha256.toLowerCase();
  if (!sha256Hex.test(lower)) {
    throw new ApiError('InvalidSha256.Malformed', 'Sha256 is 64 hexadecimal characters.');
  }
  return { sizeBytes, sha256: lower };
}

/** Where a part's bytes go: appended from `skip` on (a part partly repeated), or nothing new. */
export type PartPlacement = { readonly append: true; readonly skip: number } | { readonly append: false };

/**
 * Places a part of `length` bytes sent for `offset`. A part the upload already holds (a retry after
 * a lost answer) is accepted and changes nothing; a part starting past the received bytes (a gap),
 * a part past the announced size, and an empty one are refused.
 */
export function placePart(upload: FileUpload, offset: number, length: number): PartPlacement {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new ApiError('InvalidParameter', 'Offset is a whole number of at least 0.');
  }
  if (length === 0) throw new ApiError('InvalidParameter', 'A part holds at least one byte.');
  if (length > fileUploadLimits.partBytes) {
    throw new ApiError('RequestTooLarge', `A part is at most ${fileUploadLimits.partBytes} bytes.`);
  }
  if (offset + length > upload.sizeBytes) {
    throw new ApiError(
      'InvalidUploadOffset.Mismatch',
      `The part ends at byte ${offset + length}, past the upload's SizeBytes ${upload.sizeBytes}.`,
    );
  }
  if (offset > upload.receivedBytes) {
    throw new ApiError(
      'InvalidUploadOffset.Mismatch',
      `The upload has ${upload.receivedBytes} bytes; send the part at Offset ${upload.receivedBytes}.`,
    );
  }
  if (offset + length <= upload.receivedBytes) return { append: false };
  return { append: true, skip: upload.receivedBytes - offset };
}

/** What an upload's last part leads to once its bytes are hashed: complete, or start again. */
export const isEveryByteIn = (upload: FileUpload): boolean => upload.receivedBytes === upload.sizeBytes;

/**
 * The start of a `Range: bytes=N-` request header: the only form an agent sends (it resumes a
 * download from the bytes it holds). Undefined: no header, the whole file. A start at or past the
 * end, or any other form, cannot be served (416 with the size).
 */
export function parseRangeStart(header: string | undefined, sizeBytes: number): number | undefined {
  if (header === undefined || header === '') return undefined;
  const match = /^bytes=(\d{1,16})-$/.exec(header.trim());
  const start = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(start) || start >= sizeBytes) {
    throw new ApiError(
      'InvalidRange',
      `Only "bytes=N-" with N below the file's ${sizeBytes} bytes is served; got "${header.slice(0, 40)}".`,
    );
  }
  return start;
}
