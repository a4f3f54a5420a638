import { isRecord } from '../guards.js';
import type { Command, CommandType } from './command.js';
import { validateClientToken, validateTimeout, validateWorkingDir } from './command.js';
import { type ContainerTarget, parseContainerTarget } from './container.js';
import { ApiError } from './errors.js';
import type { InstanceStatus, InvocationStatus } from './invocation-status.js';
import { ossUri, parseOssUri } from './output-delivery.js';
import { type RollingLimits, type RollingSpec, validateRolling } from './rolling-run.js';
import type { FileAttributes } from './send-file.js';
import { type RawTag, resourceTagRules, type Tag, validateTags } from './tags.js';

// Limits from the seed: 50 InstanceId.N, 10 custom parameters with keys up to 64 characters,
// 18 KB for the Base64 content plus parameters, Username and WindowsPasswordName up to 255.
export const invokeLimits = {
  instances: 50,
  parameters: 10,
  parameterKeyLength: 64,
  contentAndParametersBase64Bytes: 18 * 1024,
  usernameLength: 255,
  windowsPasswordNameLength: 255,
  /** An extension: a rolling run (MaxConcurrency set) may select this many instances by ResourceTag.N. */
  rollingInstances: 10_000,
} as const;

export type RepeatMode = 'Once' | 'Period' | 'NextRebootOnly' | 'EveryReboot' | 'DryRun';
export const repeatModes: readonly RepeatMode[] = [
  'Once',
  'Period',
  'NextRebootOnly',
  'EveryReboot',
  'DryRun',
];
const knownRepeatModes: ReadonlySet<string> = new Set(repeatModes);
const isRepeatMode = (value: string): value is RepeatMode => knownRepeatModes.has(value);
export type TerminationMode = 'Process' | 'ProcessTree';
export const terminationModes: readonly TerminationMode[] = ['Process', 'ProcessTree'];

/** What InvokeCommand (or RunCommand's invoke half) carries, parsed from the wire. */
export interface InvokeInput {
  instanceIds: readonly string[];
  repeatMode?: string | undefined;
  frequency?: string | undefined;
  /** The raw `Parameters` JSON text; absent when not sent. */
  parameters?: string | undefined;
  username?: string | undefined;
  windowsPasswordName?: string | undefined;
  workingDir?: string | undefined;
  timeoutSeconds?: number | undefined;
  terminationMode?: string | undefined;
  containerId?: string | undefined;
  containerName?: string | undefined;
  launcher?: string | undefined;
  resourceGroupId?: string | undefined;
  clientToken?: string | undefined;
  tags: readonly RawTag[];
  /** `ResourceTag.N`: select the instances carrying all these tags instead of naming them. */
  resourceTags?: readonly RawTag[] | undefined;
  /** Extensions: rolling runs (docs/rolling-runs.md). */
  maxConcurrency?: string | undefined;
  maxErrors?: string | undefined;
  /** `OssOutputDelivery`: `oss://bucket/prefix`; absent or empty: the region's default, if any. */
  ossOutputDelivery?: string | undefined;
}

/** The shape-checked request, before the command and the instances are looked up. */
export interface InvokeRequest {
  instanceIds: string[];
  /** When set, the instances are those carrying all these tags (resolved against the store). */
  resourceTags: Tag[];
  repeatMode: RepeatMode;
  frequency: string;
  parametersText: string | undefined;
  username: string;
  windowsPasswordName: string;
  workingDir: string | undefined;
  timeoutSeconds: number | undefined;
  terminationMode: TerminationMode;
  launcher: string | undefined;
  resourceGroupId: string;
  clientToken: string;
  tags: Tag[];
  /** ContainerId / ContainerName, when the script runs inside a container. */
  container: ContainerTarget | undefined;
  /** MaxConcurrency / MaxErrors when given: the targets are released a few at a time. */
  rolling: RollingSpec | undefined;
  /** `OssOutputDelivery` as given (checked), or undefined: the region's default decides. */
  ossOutputDelivery: string | undefined;
}

// Linux names (letters, digits, '.', '_', '-'), Windows ones too ('DOMAIN\\user', 'user@domain');
// never a leading '-' (an option to whatever reads it), whitespace or shell syntax.
const usernamePattern = /^[\p{L}\p{N}_.@\\][\p{L}\p{N}_.@\\-]*$/u;

/** `Username`: at most 255 characters (the seed), and only characters a user name is made of. */
export function validateUsername(username: string): string {
  if (username.length > invokeLimits.usernameLength) throw new ApiError('Username.ExceedLimit');
  if (username !== '' && !usernamePattern.test(username)) {
    throw new ApiError('InvalidUsername.Malformed', `Got ${JSON.stringify(username.slice(0, 64))}.`);
  }
  return username;
}

/**
 * `InstanceId.N` of a request naming its instances (InvokeCommand's rules, SendFile's too): at
 * least one, at most 50, each distinct one kept once in order.
 */
export function checkInstanceIds(instanceIds: readonly string[]): string[] {
  if (instanceIds.length === 0) throw new ApiError('MissingParam.InstanceId');
  if (instanceIds.length > invokeLimits.instances) {
    throw new ApiError(
      'InstanceIds.ExceedLimit',
      `At most ${invokeLimits.instances}, got ${instanceIds.length}.`,
    );
  }
  return [...new Set(instanceIds)];
}

/** Shapes and limits of InvokeCommand, checked before anything is looked up (DESIGN §2.4). */
export function validateInvokeRequest(input: InvokeInput): InvokeRequest {
  const resourceTags = validateTags(input.resourceTags ?? [], resourceTagRules);
  if (resourceTags.length > 0 && input.instanceIds.length > 0) {
    throw new ApiError('InvalidResourceTag.ConflictWithInstanceIds');
  }
  // With ResourceTag.N (which excludes InstanceId.N) the store finds the instances.
  if (resourceTags.length === 0) checkInstanceIds(input.instanceIds);
  const frequency = input.frequency ?? '';
  // The seed: when Frequency is given the mode is Period, whatever RepeatMode says. DryRun stays a
  // dry run (its Frequency is checked, nothing is scheduled): a dry run never creates anything.
  const repeatMode =
    input.repeatMode === 'DryRun' ? 'DryRun' : frequency !== '' ? 'Period' : input.repeatMode || 'Once';
  if (!isRepeatMode(repeatMode)) {
    throw new ApiError('InvalidRepeatMode.NotFound', `Got "${repeatMode.slice(0, 40)}".`);
  }
  if (repeatMode === 'Period' && frequency === '') throw new ApiError('MissingParam.Frequency');
  const username = validateUsername(input.username ?? '');
  const windowsPasswordName = input.windowsPasswordName ?? '';
  if (windowsPasswordName.length > invokeLimits.windowsPasswordNameLength) {
    throw new ApiError('WindowsPasswordName.ExceedLimit');
  }
  const terminationMode = input.terminationMode || 'ProcessTree';
  if (terminationMode !== 'Process' && terminationMode !== 'ProcessTree') {
    throw new ApiError('InvalidParameter', 'TerminationMode is Process or ProcessTree.');
  }
  const container = parseContainerTarget(input.containerId ?? '', input.containerName ?? '');
  return {
    container,
    rolling: validateRolling(input.maxConcurrency, input.maxErrors, repeatMode),
    instanceIds: [...new Set(input.instanceIds)],
    resourceTags,
    repeatMode,
    frequency,
    parametersText: input.parameters === '' ? undefined : input.parameters,
    username,
    windowsPasswordName,
    workingDir: input.workingDir === undefined ? undefined : validateWorkingDir(input.workingDir),
    timeoutSeconds: input.timeoutSeconds === undefined ? undefined : validateTimeout(input.timeoutSeconds),
    terminationMode,
    launcher: input.launcher,
    resourceGroupId: input.resourceGroupId ?? '',
    clientToken: validateClientToken(input.clientToken ?? ''),
    tags: validateTags(input.tags),
    ossOutputDelivery: input.ossOutputDelivery ? ossUri(parseOssUri(input.ossOutputDelivery)) : undefined,
  };
}

/** Counts the occurrences of each top-level key in a flat JSON object's text (JSON.parse keeps only the last). */
function duplicateKey(text: string, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const quoted = JSON.stringify(key);
    let count = 0;
    for (let at = text.indexOf(quoted); at >= 0; at = text.indexOf(quoted, at + 1)) {
      if (text[at - 1] !== '\\' && /^\s*:/.test(text.slice(at + quoted.length))) count++;
    }
    if (count > 1) return key;
  }
  return undefined;
}

/**
 * The custom parameter values for one invocation of `command`, checked against what the command
 * defines (the seed's Parameters rules). A defined parameter that is not passed is empty.
 */
export function resolveParameters(
  command: Command,
  parametersText: string | undefined,
): Record<string, string> {
  if (parametersText === undefined) {
    if (command.enableParameter && command.parameterNames.length > 0) {
      throw new ApiError(
        'Parameter.MissingValue',
        `The command defines ${command.parameterNames.join(', ')}.`,
      );
    }
    // Without Parameters too: a saved command's content alone may pass the limit.
    checkContentSize(command, undefined);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(parametersText);
  } catch {
    throw new ApiError('InvalidParameter.Parameters', 'Parameters must be a JSON object.');
  }
  if (!isRecord(parsed)) {
    throw new ApiError('InvalidParameter.Parameters', 'Parameters must be a JSON object.');
  }
  const entries = Object.entries(parsed);
  if (entries.length > 0 && !command.enableParameter) throw new ApiError('Parameter.Disabled');
  if (entries.length > invokeLimits.parameters) {
    throw new ApiError(
      'ParameterCount.ExceedLimit',
      `At most ${invokeLimits.parameters}, got ${entries.length}.`,
    );
  }
  const values: Record<string, string> = Object.fromEntries(command.parameterNames.map((name) => [name, '']));
  for (const [key, value] of entries) {
    if (key === '') throw new ApiError('InvalidParameter.Parameters', 'A parameter name is empty.');
    if (key.length > invokeLimits.parameterKeyLength) throw new ApiError('ParameterKey.ExceedLimit');
    if (typeof value !== 'string') {
      throw new ApiError('ParameterType.NotSupported', `The value of ${key.slice(0, 64)} must be a string.`);
    }
    if (!command.parameterNames.includes(key)) {
      throw new ApiError('Parameter.NotMatched', `The command defines no parameter ${key.slice(0, 64)}.`);
    }
    values[key] = value;
  }
  const duplicate = duplicateKey(parametersText, Object.keys(values));
  if (duplicate !== undefined) throw new ApiError('ParameterKey.Duplicate', `${duplicate} is given twice.`);
  checkContentSize(command, parametersText);
  return values;
}

/** The seed's 18 KB for the Base64 content plus the Base64 of Parameters (none counts 0). */
export function checkContentSize(
  command: Pick<Command, 'contentBase64'>,
  parametersText: string | undefined,
): void {
  const parametersBytes =
    parametersText === undefined ? 0 : Buffer.from(parametersText).toString('base64').length;
  const size = command.contentBase64.length + parametersBytes;
  if (size > invokeLimits.contentAndParametersBase64Bytes) {
    throw new ApiError(
      'CmdContent.ExceedLimit',
      `Content and parameters are ${size} bytes in Base64; at most ${invokeLimits.contentAndParametersBase64Bytes}.`,
    );
  }
}

/** Fills `{{name}}` custom parameters and the `{{ACS::…}}` built-ins into a script. */
export function renderScript(
  script: string,
  custom: Readonly<Record<string, string>>,
  builtins: Readonly<Record<string, string>>,
): string {
  return script.replace(/\{\{([^{}]*)\}\}/g, (whole, inner: string) => {
    const name = inner.trim();
    if (name.startsWith('ACS::')) return builtins[name.slice('ACS::'.length)] ?? whole;
    return Object.hasOwn(custom, name) ? (custom[name] ?? '') : whole;
  });
}

/** Whether a command of `type` can run on an instance of `osType` with these shells. */
export function commandFits(type: CommandType, osType: string, shells: readonly string[]): boolean {
  if (type === 'RunShellScript') return osType === 'linux';
  if (type === 'RunBatScript') return osType === 'windows';
  return osType === 'windows' || shells.includes('pwsh') || shells.includes('powershell');
}

export interface Invocation {
  readonly seq: number;
  readonly id: string;
  readonly regionId: string;
  readonly commandId: string;
  readonly commandName: string;
  readonly commandType: CommandType;
  readonly commandDescription: string;
  readonly contentBase64: string;
  readonly parameters: Record<string, string>;
  readonly repeatMode: RepeatMode;
  readonly frequency: string;
  readonly timeoutSeconds: number;
  readonly username: string;
  /** Names the secret parameter holding the Windows password of `username`. */
  readonly windowsPasswordName: string;
  readonly workingDir: string;
  readonly launcher: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly terminationMode: TerminationMode;
  readonly resourceGroupId: string;
  readonly clientToken: string;
  readonly status: InvocationStatus;
  readonly createdAtMs: number;
  readonly tags: Tag[];
  /** `oss://bucket/prefix` its runs' output is delivered to (docs/output-delivery.md); absent: none. */
  readonly ossOutputDelivery?: string | undefined;
  /**
   * Set on a SendFile invocation (`f-…`): where and how its file lands. Its name is kept as
   * `commandName`, its description as `commandDescription`, its content as `contentBase64`.
   */
  readonly file?: FileAttributes | undefined;
  /** A rolling run's MaxConcurrency / MaxErrors as given and resolved (docs/rolling-runs.md). */
  readonly rolling?: (RollingSpec & RollingLimits) | undefined;
}

/** One instance's part of an invocation. */
/**
 * One row of an invocation's results. Execution 0 is the invocation on one instance; for `Once`
 * and `NextRebootOnly` it is also the run. `Period` and `EveryReboot` tasks keep their runs as
 * executions 1, 2, … beside it, and row 0 says where the task stands (Scheduled, Running, ended).
 */
export interface InvocationInstance {
  readonly invokeId: string;
  readonly instanceId: string;
  readonly execution: number;
  /** Row 0: runs started so far. Row n: n. */
  readonly repeats: number;
  /** When a scheduled run was due; 0 when it was not scheduled. */
  readonly scheduledAtMs: number;
  readonly status: InstanceStatus;
  readonly errorCode: string;
  readonly errorInfo: string;
  readonly exitCode: number | null;
  readonly outputBytes: number;
  readonly droppedBytes: number;
  readonly delivered: boolean;
  readonly createdAtMs: number;
  readonly startTimeMs: number;
  readonly finishTimeMs: number;
  readonly stopTimeMs: number;
  readonly updateTimeMs: number;
  /** A rolling run's instance not released yet (Pending, not deliverable). */
  readonly held?: boolean | undefined;
}

/** Modes whose runs are executions of their own (several runs on one instance). */
export const hasExecutions = (mode: RepeatMode): boolean => mode === 'Period' || mode === 'EveryReboot';

/** Modes that wait for the instance's next boot. */
export const waitsForBoot = (mode: RepeatMode): boolean =>
  mode === 'NextRebootOnly' || mode === 'EveryReboot';
