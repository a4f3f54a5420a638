/**
 * A run's `ErrorCode` and its `ErrorInfo` text, defined once for the agent's runners and the
 * server's paths that end runs themselves. Alibaba's codes keep Alibaba's wording (fact sheet §5);
 * the variable part of a text (why, which times) follows the fixed text after a colon.
 */
export const runErrorInfo = {
  InstanceNotExists: 'the specified instance does not exists',
  InstanceReleased: 'the instance has released when create task',
  InstanceNotRunning: 'the instance is not running when create task',
  CommandNotApplicable: 'the command is not applicable',
  AccountNotExists: 'the specified account does not exists',
  DirectoryNotExists: 'the specified directory does not exists',
  BadCronExpression: 'the cron job expression is invalid',
  ClientNotRunning: 'the aliyun service is not running on the instance',
  ClientNotResponse: 'the aliyun service in the instance does not response',
  ClientIsUpgrading: 'the aliyun service in the instance is upgrading now',
  ClientNeedUpgrade: 'the aliyun service in the instance need upgrade',
  DeliveryTimeout: 'the command delivery has been timeout',
  ExecutionTimeout: 'the command execution has been timeout',
  ExecutionException: 'the command execution got an exception',
  ExecutionInterrupted: 'the command execution has been interrupted',
  ExitCodeNonzero: 'the command execution exit code is not zero',
  // Not Alibaba's, worded like Alibaba's: a container run's target (docs/agent-protocol.md).
  ContainerNotExists: 'the specified container does not exists',
  ContainerNotRunning: 'the specified container is not running',
  // SendFile's. FileAlreadyExists is Alibaba's code (its text could not be found: worded like the
  // others); GroupNotExists is not Alibaba's (docs/files.md).
  FileAlreadyExists: 'the file already exists in the target directory',
  GroupNotExists: 'the specified group does not exists',
  // Not Alibaba's: a file sent as an upload, which the agent downloads (docs/file-transfer.md).
  FileDownloadFailed: 'the file could not be downloaded from the server',
  FileChecksumMismatch: 'the downloaded file does not match its sha256',
  // Not Alibaba's: a schedule's fire times the agent skipped or missed.
  ExecutionSkipped: 'the previous run of this task was still running',
  ExecutionMissed: 'the agent was not running at the scheduled time',
  // Not Alibaba's: runs the server ends itself when its agent lost them (docs/agent-protocol.md).
  ExecutionLost: 'the command execution is no longer known to the agent (its journal was lost)',
  ExecutionNotReported: 'the agent did not report the end of the command execution in time',
  // Not Alibaba's: a rolling run's instances not started once MaxErrors was exceeded (docs/rolling-runs.md).
  MaxErrorsExceeded: 'the command was not started: more runs of the invocation failed than MaxErrors allows',
} as const;

export type RunErrorCode = keyof typeof runErrorInfo;

export interface RunError<Code extends RunErrorCode = RunErrorCode> {
  readonly errorCode: Code;
  readonly errorInfo: string;
}

/** The code with its text; `detail` (why, in the caller's words) follows after a colon. */
export function runError<Code extends RunErrorCode>(errorCode: Code, detail?: string): RunError<Code> {
  const text = runErrorInfo[errorCode];
  return { errorCode, errorInfo: detail ? `${text}: ${detail}` : text };
}

/** `ExecutionException` saying what went wrong: an Error's message, anything else as text. */
export function executionException(error: unknown): RunError<'ExecutionException'> {
  return runError('ExecutionException', error instanceof Error ? error.message : String(error));
}

const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * `ExecutionMissed` for fire times from `firstMs` to `lastMs` that passed while the agent was down;
 * `atLeast` when the count stopped at its bound.
 */
export function executionMissed(
  count: number,
  firstMs: number,
  lastMs: number,
  atLeast: boolean,
): RunError<'ExecutionMissed'> {
  const counted = atLeast ? `at least ${count}` : String(count);
  return {
    errorCode: 'ExecutionMissed',
    errorInfo: `the agent was not running at ${counted} scheduled time(s), from ${iso(firstMs)} to ${iso(lastMs)}`,
  };
}
