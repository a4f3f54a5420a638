import { validateClientToken } from './command.js';
import { type ContentEncoding, toBase64 } from './content.js';
import { ApiError, type ErrorCode, missingParameter } from './errors.js';
import { checkInstanceIds } from './invocation.js';
import { type RawTag, type Tag, validateTags } from './tags.js';

// SendFile's documented limits (the SDK model's doc comments): Name 255 characters, Description
// 512, Content 32 KB after Base64, TargetDir 255, FileOwner and FileGroup 64, Timeout default 60
// and raised to 10 when below.
export const sendFileLimits = {
  nameLength: 255,
  descriptionLength: 512,
  contentBase64Bytes: 32 * 1024,
  targetDirLength: 255,
  ownerLength: 64,
  groupLength: 64,
  minTimeoutSeconds: 10,
  maxTimeoutSeconds: 86_400,
  defaultTimeoutSeconds: 60,
} as const;

/** What SendFile carries, parsed from the wire. */
export interface SendFileInput {
  name?: string | undefined;
  description?: string | undefined;
  content?: string | undefined;
  /** OpenAssist's extension: a completed upload's id instead of `Content` (docs/file-transfer.md). */
  uploadId?: string | undefined;
  contentType?: string | undefined;
  targetDir?: string | undefined;
  fileOwner?: string | undefined;
  fileGroup?: string | undefined;
  fileMode?: string | undefined;
  overwrite?: boolean | undefined;
  timeoutSeconds?: number | undefined;
  instanceIds: readonly string[];
  resourceGroupId?: string | undefined;
  clientToken?: string | undefined;
  tags: readonly RawTag[];
}

/** Where and how a file lands on an instance: the attributes an invocation of kind file keeps. */
export interface FileAttributes {
  /** One file name, never a path. */
  readonly name: string;
  /** Absolute: `/dir` on Linux, `C:\dir` on Windows. */
  readonly targetDir: string;
  readonly owner: string;
  readonly group: string;
  /** Four octal digits, as chmod takes them (`0644`). */
  readonly mode: string;
  readonly overwrite: boolean;
  /** How the caller sent the content, and how DescribeSendFileResults shows it back. */
  readonly contentType: ContentEncoding;
}

/** The shape-checked request, before the instances are looked up. */
export interface SendFileRequest {
  readonly file: FileAttributes;
  readonly description: string;
  /** Empty when the file comes from an upload. */
  readonly contentBase64: string;
  /** The upload the file comes from instead of `Content`. */
  readonly uploadId: string | undefined;
  readonly timeoutSeconds: number;
  readonly instanceIds: string[];
  readonly resourceGroupId: string;
  readonly clientToken: string;
  readonly tags: Tag[];
}

/** `Name`: a single file name; a `/`, a NUL or a `.`/`..` would place the file elsewhere than TargetDir. */
export function validateFileName(name: string | undefined): string {
  if (!name) throw missingParameter('Name');
  if (name.length > sendFileLimits.nameLength) {
    throw new ApiError('FileName.ExceedLimit', `It is ${name.length} characters.`);
  }
  if (name === '.' || name === '..' || /[/\0]/.test(name)) {
    throw new ApiError('InvalidFileName.Malformed', `Got ${JSON.stringify(name.slice(0, 64))}.`);
  }
  return name;
}

const posixAbsolute = /^\//;
const windowsAbsolute = /^[A-Za-z]:[\\/]/;

/** `TargetDir`: absolute, for Linux (`/…`) or Windows (`C:\…`); which one fits an instance is checked against it. */
export function validateTargetDir(dir: string | undefined): string {
  if (!dir) throw missingParameter('TargetDir');
  if (dir.length > sendFileLimits.targetDirLength) {
    throw new ApiError('TargetDir.ExceedLimit', `It is ${dir.length} characters.`);
  }
  if (dir.includes('\0') || !(posixAbsolute.test(dir) || windowsAbsolute.test(dir))) {
    throw new ApiError('InvalidTargetDir.Malformed', `Got ${JSON.stringify(dir.slice(0, 64))}.`);
  }
  return dir;
}

/** Whether a target dir is written the way the instance's system writes absolute paths. */
export const targetDirFits = (dir: string, osType: string): boolean =>
  osType === 'windows' ? windowsAbsolute.test(dir) : posixAbsolute.test(dir);

// A user or group name as useradd/groupadd make them; never a leading '-' (an option to whatever
// reads it), never all digits (getent would read a uid).
const accountPattern = /^[\p{L}\p{N}_.][\p{L}\p{N}_.-]*$/u;

function validateAccount(
  value: string | undefined,
  max: number,
  codes: { tooLong: ErrorCode; malformed: ErrorCode },
): string {
  const name = value || 'root';
  if (name.length > max) throw new ApiError(codes.tooLong, `It is ${name.length} characters.`);
  if (!accountPattern.test(name) || /^\d+$/.test(name)) {
    throw new ApiError(codes.malformed, `Got ${JSON.stringify(name.slice(0, 64))}.`);
  }
  return name;
}

/** `FileMode`: chmod's octal form (1 to 4 digits), kept as four digits; a symbolic mode is refused. */
export function validateFileMode(mode: string | undefined): string {
  const text = mode || '0644';
  if (!/^[0-7]{1,4}$/.test(text)) {
    throw new ApiError('InvalidFileMode.Malformed', `Got ${JSON.stringify(text.slice(0, 16))}.`);
  }
  return text.padStart(4, '0');
}

/** `ContentType`: PlainText (the default) or Base64, as the wire's other encodings, case-insensitively. */
export function parseContentType(value: string | undefined): ContentEncoding {
  if (value === undefined || value === '') return 'PlainText';
  const lower = value.toLowerCase();
  if (lower === 'plaintext') return 'PlainText';
  if (lower === 'base64') return 'Base64';
  throw new ApiError(
    'InvalidParameter.ContentType',
    `"${value.slice(0, 40)}" is neither PlainText nor Base64.`,
  );
}

/** `Content` as Base64, at most 32 KB once encoded (one byte over is refused, before it is decoded). */
export function validateFileContent(content: string | undefined, type: ContentEncoding): string {
  if (content === undefined || content === '') throw missingParameter('Content');
  const encodedBytes =
    type === 'Base64' ? content.length : Math.ceil(Buffer.byteLength(content, 'utf8') / 3) * 4;
  if (encodedBytes > sendFileLimits.contentBase64Bytes) {
    throw new ApiError(
      'FileContent.ExceedLimit',
      `It is ${encodedBytes} bytes after Base64; at most ${sendFileLimits.contentBase64Bytes}.`,
    );
  }
  try {
    return toBase64(content, type);
  } catch {
    throw new ApiError('FileContent.DecodeError');
  }
}

/** `Timeout`: 60 by default; below 10 it is raised to 10 (the model says so), above a day refused. */
export function fileTimeout(seconds: number | undefined): number {
  if (seconds === undefined) return sendFileLimits.defaultTimeoutSeconds;
  if (seconds > sendFileLimits.maxTimeoutSeconds) {
    throw new ApiError('InvalidTimeout.ExceedLimit', `It is ${seconds}.`);
  }
  return Math.max(seconds, sendFileLimits.minTimeoutSeconds);
}

/**
 * SendFile's shapes and limits, checked before anything is looked up, in the order of the
 * request's fields: required ones first, then each one's shape and limit.
 */
export function validateSendFile(input: SendFileInput): SendFileRequest {
  const name = validateFileName(input.name);
  const targetDir = validateTargetDir(input.targetDir);
  const contentType = parseContentType(input.contentType);
  const uploadId = input.uploadId || undefined;
  if (uploadId !== undefined && input.content) {
    throw new ApiError(
      'InvalidParameter',
      'Content and UploadId are exclusive: send the file in Content (up to 32 KB) or as an upload.',
    );
  }
  const contentBase64 = uploadId === undefined ? validateFileContent(input.content, contentType) : '';
  const instanceIds = checkInstanceIds(input.instanceIds);
  const description = input.description ?? '';
  if (description.length > sendFileLimits.descriptionLength) {
    throw new ApiError('FileDesc.ExceedLimit', `It is ${description.length} characters.`);
  }
  return {
    file: {
      name,
      targetDir,
      owner: validateAccount(input.fileOwner, sendFileLimits.ownerLength, {
        tooLong: 'FileOwner.ExceedLimit',
        malformed: 'InvalidFileOwner.Malformed',
      }),
      group: validateAccount(input.fileGroup, sendFileLimits.groupLength, {
        tooLong: 'FileGroup.ExceedLimit',
        malformed: 'InvalidFileGroup.Malformed',
      }),
      mode: validateFileMode(input.fileMode),
      overwrite: input.overwrite ?? false,
      contentType,
    },
    description,
    contentBase64,
    uploadId,
    timeoutSeconds: fileTimeout(input.timeoutSeconds),
    instanceIds,
    resourceGroupId: input.resourceGroupId ?? '',
    clientToken: validateClientToken(input.clientToken ?? ''),
    tags: validateTags(input.tags),
  };
}
