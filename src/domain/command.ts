import { isOneOf } from '../guards.js';
import { type ContentEncoding, toBase64 } from './content.js';
import { ApiError, missingParameter } from './errors.js';
import { newCommandId } from './ids.js';
import { extractParameterNames } from './parameters.js';
import { type RawTag, type Tag, validateTags } from './tags.js';

export const commandTypes = ['RunShellScript', 'RunBatScript', 'RunPowerShellScript'] as const;
export type CommandType = (typeof commandTypes)[number];
export const isCommandType = (value: string): value is CommandType => isOneOf(commandTypes, value);

// Limits from the fact sheet (CreateCommand reference): 24 KB of Base64 content, name 128,
// description 512, working directory 200 characters, launcher 1 KB, timeout 10 s .. 24 h.
export const limits = {
  contentBase64Bytes: 24 * 1024,
  nameLength: 128,
  descriptionLength: 512,
  workingDirLength: 200,
  launcherBytes: 1024,
  minTimeoutSeconds: 10,
  maxTimeoutSeconds: 86_400,
  defaultTimeoutSeconds: 60,
  clientTokenLength: 64,
} as const;

/** What a caller sent to CreateCommand, already parsed from the wire but not yet validated. */
export interface CreateCommandInput {
  name?: string | undefined;
  description?: string | undefined;
  type?: string | undefined;
  content?: string | undefined;
  contentEncoding: ContentEncoding;
  workingDir?: string | undefined;
  timeoutSeconds?: number | undefined;
  enableParameter?: boolean | undefined;
  launcher?: string | undefined;
  resourceGroupId?: string | undefined;
  clientToken?: string | undefined;
  tags: readonly RawTag[];
}

/** A valid saved command, ready to be stored. */
export interface CommandDraft {
  name: string;
  description: string;
  type: CommandType;
  contentBase64: string;
  workingDir: string;
  timeoutSeconds: number;
  enableParameter: boolean;
  parameterNames: string[];
  launcher: string;
  resourceGroupId: string;
  clientToken: string;
  tags: Tag[];
}

export function validateName(name: string): string {
  if (name.length > limits.nameLength)
    throw new ApiError('CmdName.ExceedLimit', `Got ${name.length} characters.`);
  return name;
}

export function validateDescription(description: string): string {
  if (description.length > limits.descriptionLength) {
    throw new ApiError('CmdDesc.ExceedLimit', `Got ${description.length} characters.`);
  }
  return description;
}

// Characters a shell would read as syntax (command separators, substitutions, redirections,
// quotes, globs, history) and control characters: a directory that needs them is refused, so a
// WorkingDir can never turn into a command, whatever later handles it.
const workingDirForbidden = /[\p{Cc};&|$`<>"'!*?]/u;

/** A directory path of at most 200 characters that cannot read as shell syntax or an option. */
export function validateWorkingDir(dir: string): string {
  if (dir.length > limits.workingDirLength) {
    throw new ApiError('InvalidParameter.WorkingDir', `It is ${dir.length} characters long; at most 200.`);
  }
  if (dir.startsWith('-')) throw new ApiError('InvalidParameter.WorkingDir', 'It must not start with "-".');
  const bad = workingDirForbidden.exec(dir)?.[0];
  if (bad !== undefined) {
    throw new ApiError('InvalidParameter.WorkingDir', `It must not contain ${JSON.stringify(bad)}.`);
  }
  return dir;
}

export function validateLauncher(launcher: string): string {
  if (Buffer.byteLength(launcher) > limits.launcherBytes)
    throw new ApiError('InvalidLauncher.LengthLimitExceeded');
  return launcher;
}

export function validateTimeout(seconds: number): number {
  if (seconds < limits.minTimeoutSeconds) {
    throw new ApiError('InvalidParameter.Timeout', `It is ${seconds}; the minimum is 10 seconds.`);
  }
  if (seconds > limits.maxTimeoutSeconds)
    throw new ApiError('InvalidTimeout.ExceedLimit', `It is ${seconds}.`);
  return seconds;
}

export function validateClientToken(token: string): string {
  // The seed: "only ASCII characters and cannot exceed 64 characters".
  if (token.length > limits.clientTokenLength || !/^[\x20-\x7e]*$/.test(token)) {
    throw new ApiError('InvalidClientToken.Malformed', 'It must be at most 64 printable ASCII characters.');
  }
  return token;
}

/** Normalises content to Base64 and enforces the size limit. */
export function validateContent(content: string, encoding: ContentEncoding): string {
  if (content === '') throw missingParameter('CommandContent');
  const base64 = toBase64(content, encoding);
  if (base64.length > limits.contentBase64Bytes) {
    throw new ApiError('CmdContent.ExceedLimit', `It is ${base64.length} bytes after Base64; at most 24576.`);
  }
  return base64;
}

/** The custom parameters a command defines: none unless EnableParameter is set. */
export const parameterNamesOf = (contentBase64: string, enableParameter: boolean): string[] =>
  enableParameter ? extractParameterNames(Buffer.from(contentBase64, 'base64').toString('utf8')) : [];

/** Applies CreateCommand's rules in the documented order: required fields, then shapes and limits. */
export function validateCreateCommand(input: CreateCommandInput): CommandDraft {
  if (!input.name) throw missingParameter('Name');
  if (!input.type) throw missingParameter('Type');
  if (input.content === undefined) throw missingParameter('CommandContent');
  const name = validateName(input.name);
  if (!isCommandType(input.type))
    throw new ApiError('InvalidCmdType.NotFound', `Got "${input.type.slice(0, 40)}".`);
  const contentBase64 = validateContent(input.content, input.contentEncoding);
  const enableParameter = input.enableParameter ?? false;
  return {
    name,
    description: validateDescription(input.description ?? ''),
    type: input.type,
    contentBase64,
    workingDir: validateWorkingDir(input.workingDir ?? ''),
    timeoutSeconds: validateTimeout(input.timeoutSeconds ?? limits.defaultTimeoutSeconds),
    enableParameter,
    parameterNames: parameterNamesOf(contentBase64, enableParameter),
    launcher: validateLauncher(input.launcher ?? ''),
    resourceGroupId: input.resourceGroupId ?? '',
    clientToken: validateClientToken(input.clientToken ?? ''),
    tags: validateTags(input.tags),
  };
}

/** A saved command as stored. */
export interface Command extends CommandDraft {
  readonly id: string;
  readonly regionId: string;
  /** Starts at 1; ModifyCommand bumps it when the script changes. */
  readonly version: number;
  readonly invokeTimes: number;
  readonly createdAtMs: number;
  /** Monotonic insertion order: the keyset for NextToken paging. */
  readonly seq: number;
}

/** What ModifyCommand may change; absent fields stay as they are. */
export interface CommandPatch {
  name?: string | undefined;
  description?: string | undefined;
  contentBase64?: string | undefined;
  parameterNames?: string[] | undefined;
  workingDir?: string | undefined;
  timeoutSeconds?: number | undefined;
  launcher?: string | undefined;
}

/** A new saved command from a valid draft: version 1, never invoked. */
export const newCommand = (
  draft: CommandDraft,
  regionId: string,
  createdAtMs: number,
): Omit<Command, 'seq'> => ({
  ...draft,
  id: newCommandId(),
  regionId,
  version: 1,
  invokeTimes: 0,
  createdAtMs,
});
