/**
 * The Send file dialog's checks, before anything is sent: SendFile's own rules and codes (the
 * server's are in domain/send-file.ts, which the bundle cannot import: it reaches node:crypto).
 * send-file-checks.test.ts keeps the two in agreement.
 */

/** What the dialog's fields hold, as typed. */
export interface FileDraft {
  readonly name: string;
  readonly description: string;
  readonly targetDir: string;
  readonly owner: string;
  readonly group: string;
  readonly mode: string;
}

export const emptyFileDraft: FileDraft = {
  name: '',
  description: '',
  targetDir: '',
  owner: '',
  group: '',
  mode: '0644',
};

// SendFile's documented limits (the SDK model's doc comments).
export const fileLimits = {
  nameLength: 255,
  descriptionLength: 512,
  targetDirLength: 255,
  accountLength: 64,
  /** Content, once Base64-encoded. */
  contentBase64Bytes: 32 * 1024,
  instances: 50,
} as const;

/** The largest file SendFile carries in Content (3 bytes become 4 characters of Base64); larger ones are uploaded. */
export const largestInlineFile = (fileLimits.contentBase64Bytes / 4) * 3;

export const fitsInline = (sizeBytes: number): boolean => sizeBytes <= largestInlineFile;

/**
 * The Timeout sent when none is typed, as the command line's: SendFile's 60 s, plus a second per
 * MiB of an uploaded file for each agent to download it; a day at most (the API's limit).
 */
export const defaultTimeoutSeconds = (sizeBytes: number): number =>
  fitsInline(sizeBytes) ? 60 : Math.min(86_400, 60 + Math.ceil(sizeBytes / (1024 * 1024)));

const absoluteDir = /^(?:\/|[A-Za-z]:[\\/])/;
// As useradd and groupadd make names: never a leading '-', never all digits.
const accountName = /^[\p{L}\p{N}_.][\p{L}\p{N}_.-]*$/u;

/** The first problem, as `Code: what to fix` with the API's code, or undefined when the draft is sendable. */
export function checkFileDraft(draft: FileDraft): string | undefined {
  const { name, targetDir, description } = draft;
  if (!name) return 'MissingParameter: give the file a name.';
  if (name.length > fileLimits.nameLength) {
    return `FileName.ExceedLimit: the name is ${name.length} characters; at most ${fileLimits.nameLength}.`;
  }
  if (name === '.' || name === '..' || /[/\0]/.test(name)) {
    return 'InvalidFileName.Malformed: the name is one file name: no "/", and not "." or "..".';
  }
  if (!targetDir) return 'MissingParameter: give the target directory.';
  if (targetDir.length > fileLimits.targetDirLength) {
    return `TargetDir.ExceedLimit: the target directory is ${targetDir.length} characters; at most ${fileLimits.targetDirLength}.`;
  }
  if (targetDir.includes('\0') || !absoluteDir.test(targetDir)) {
    return 'InvalidTargetDir.Malformed: the target directory is an absolute path (/dir on Linux, C:\\dir on Windows).';
  }
  if (description.length > fileLimits.descriptionLength) {
    return `FileDesc.ExceedLimit: the description is ${description.length} characters; at most ${fileLimits.descriptionLength}.`;
  }
  const owner = checkAccount(draft.owner, 'owner', 'FileOwner');
  if (owner) return owner;
  const group = checkAccount(draft.group, 'group', 'FileGroup');
  if (group) return group;
  if (draft.mode && !/^[0-7]{1,4}$/.test(draft.mode)) {
    return 'InvalidFileMode.Malformed: the mode is octal, as chmod takes it (0644, 755).';
  }
  return undefined;
}

/** Empty means root, as the API's default. */
function checkAccount(value: string, what: string, parameter: string): string | undefined {
  if (!value) return undefined;
  if (value.length > fileLimits.accountLength) {
    return `${parameter}.ExceedLimit: the ${what} is ${value.length} characters; at most ${fileLimits.accountLength}.`;
  }
  if (!accountName.test(value) || /^\d+$/.test(value)) {
    return `Invalid${parameter}.Malformed: the ${what} is a name of letters, digits, ".", "_" and "-", not starting with "-" and not a number.`;
  }
  return undefined;
}
