import type { Insertable, Kysely, Selectable } from 'kysely';
import { commandTypes } from '../../domain/command.js';
import {
  type Invocation,
  type InvocationInstance,
  repeatModes,
  terminationModes,
} from '../../domain/invocation.js';
import type { RunPatch, RunStart } from '../../domain/invocation-state.js';
import { instanceStatuses, invocationStatuses } from '../../domain/invocation-status.js';
import type { FileAttributes } from '../../domain/send-file.js';
import type { Tag } from '../../domain/tags.js';
import type { InvocationInstanceTable, InvocationTable, Schema } from '../schema.js';
import type { RunKey } from '../store.js';
import { oneOf } from './columns.js';

/** Rows of invocations and their runs, to and from the domain's types. */

export type InvocationRow = Selectable<InvocationTable>;
export type RunRow = Selectable<InvocationInstanceTable>;

const commandType = oneOf(commandTypes, 'invocations.command_type');
const terminationMode = oneOf(terminationModes, 'invocations.termination_mode');
export const repeatMode = oneOf(repeatModes, 'invocations.repeat_mode');
export const invocationStatus = oneOf(invocationStatuses, 'invocations.invocation_status');
export const instanceStatus = oneOf(instanceStatuses, 'invocation_instances.status');

const isStringRecord = (value: unknown): value is Record<string, string> =>
  typeof value === 'object' &&
  value !== null &&
  !Array.isArray(value) &&
  Object.values(value).every((item) => typeof item === 'string');

/** The parameters column: a JSON object of strings, as `invocationRow` wrote it. */
function parametersOf(text: string): Record<string, string> {
  const parsed: unknown = JSON.parse(text);
  if (isStringRecord(parsed)) return parsed;
  throw new Error(`invocations.parameters holds ${text.slice(0, 80)}, not an object of strings`);
}

export const toInvocation = (row: InvocationRow, tags: Tag[]): Invocation => ({
  seq: Number(row.seq),
  id: row.id,
  regionId: row.region_id,
  commandId: row.command_id,
  commandName: row.command_name,
  commandType: commandType(row.command_type),
  commandDescription: row.command_description,
  contentBase64: row.content_base64,
  parameters: parametersOf(row.parameters),
  repeatMode: repeatMode(row.repeat_mode),
  frequency: row.frequency,
  timeoutSeconds: row.timeout_seconds,
  username: row.username,
  windowsPasswordName: row.windows_password_name,
  workingDir: row.working_dir,
  launcher: row.launcher,
  containerId: row.container_id,
  containerName: row.container_name,
  terminationMode: terminationMode(row.termination_mode),
  resourceGroupId: row.resource_group_id,
  clientToken: row.client_token,
  status: invocationStatus(row.invocation_status),
  createdAtMs: Number(row.created_at),
  tags,
  ...(row.oss_output_delivery !== '' && { ossOutputDelivery: row.oss_output_delivery }),
  ...(row.kind === 'file' && { file: fileOf(row) }),
  ...(Number(row.concurrency_limit) > 0 && {
    rolling: {
      maxConcurrency: row.max_concurrency,
      maxErrors: row.max_errors,
      concurrency: Number(row.concurrency_limit),
      errors: Number(row.error_limit),
    },
  }),
});

const contentType = oneOf(['PlainText', 'Base64'] as const, 'invocations.file_content_type');

/** A SendFile invocation's file attributes (its name is the command name column). */
const fileOf = (row: InvocationRow): FileAttributes => ({
  name: row.command_name,
  targetDir: row.file_target_dir,
  owner: row.file_owner,
  group: row.file_group,
  mode: row.file_mode,
  overwrite: Number(row.file_overwrite) === 1,
  contentType: contentType(row.file_content_type),
});

/** An invocation's row (its tags are rows of their own). */
export const invocationRow = (invocation: Omit<Invocation, 'seq'>): Insertable<InvocationTable> => ({
  id: invocation.id,
  region_id: invocation.regionId,
  command_id: invocation.commandId,
  command_name: invocation.commandName,
  command_type: invocation.commandType,
  command_description: invocation.commandDescription,
  content_base64: invocation.contentBase64,
  parameters: JSON.stringify(invocation.parameters),
  repeat_mode: invocation.repeatMode,
  frequency: invocation.frequency,
  timeout_seconds: invocation.timeoutSeconds,
  username: invocation.username,
  windows_password_name: invocation.windowsPasswordName,
  working_dir: invocation.workingDir,
  launcher: invocation.launcher,
  container_id: invocation.containerId,
  container_name: invocation.containerName,
  termination_mode: invocation.terminationMode,
  resource_group_id: invocation.resourceGroupId,
  client_token: invocation.clientToken,
  invocation_status: invocation.status,
  created_at: invocation.createdAtMs,
  // An invocation that delivers no output leaves its columns to their defaults (the insert is unchanged).
  ...(invocation.ossOutputDelivery && { oss_output_delivery: invocation.ossOutputDelivery, oss_open: 1 }),
  // A command's row leaves the file columns to their defaults: InvokeCommand's insert is unchanged.
  ...(invocation.file && {
    kind: 'file',
    file_target_dir: invocation.file.targetDir,
    file_owner: invocation.file.owner,
    file_group: invocation.file.group,
    file_mode: invocation.file.mode,
    file_overwrite: invocation.file.overwrite ? 1 : 0,
    file_content_type: invocation.file.contentType,
  }),
  // Likewise the rolling run's columns.
  ...(invocation.rolling && {
    max_concurrency: invocation.rolling.maxConcurrency,
    max_errors: invocation.rolling.maxErrors,
    concurrency_limit: invocation.rolling.concurrency,
    error_limit: invocation.rolling.errors,
  }),
});

// PostgreSQL returns BIGINT columns (sequence numbers, times) as strings: each goes through Number.
export const toRun = (row: RunRow): InvocationInstance => ({
  invokeId: row.invoke_id,
  instanceId: row.instance_id,
  execution: Number(row.execution),
  repeats: Number(row.repeats),
  scheduledAtMs: Number(row.scheduled_at),
  status: instanceStatus(row.status),
  errorCode: row.error_code,
  errorInfo: row.error_info,
  exitCode: row.exit_code === null ? null : Number(row.exit_code),
  outputBytes: Number(row.output_bytes),
  droppedBytes: Number(row.dropped_bytes),
  delivered: Number(row.delivered) === 1,
  createdAtMs: Number(row.created_at),
  startTimeMs: Number(row.start_time),
  finishTimeMs: Number(row.finish_time),
  stopTimeMs: Number(row.stop_time),
  updateTimeMs: Number(row.update_time),
  ...(Number(row.held) === 1 && { held: true }),
});

/** A new row of run `key.execution`, as the domain starts it (`newRun`). */
export const runRow = (
  key: RunKey,
  start: RunStart,
  atMs: number,
  error: { readonly errorCode: string; readonly errorInfo: string } = { errorCode: '', errorInfo: '' },
): Insertable<InvocationInstanceTable> => ({
  invoke_id: key.invokeId,
  instance_id: key.instanceId,
  execution: key.execution,
  status: start.status,
  error_code: error.errorCode,
  error_info: error.errorInfo,
  exit_code: null,
  output_bytes: 0,
  dropped_bytes: 0,
  delivered: start.delivered ? 1 : 0,
  repeats: start.repeats,
  created_at: atMs,
  start_time: 0,
  finish_time: start.finishTimeMs,
  stop_time: 0,
  update_time: atMs,
});

/** The columns a patch sets (dropped bytes aside: they are added, not set). */
export function columnsOf(patch: RunPatch, atMs: number): Partial<RunRow> {
  // Set one by one: conditional spreads cost more than the rest of applying an agent's report.
  const columns: Partial<RunRow> = { update_time: atMs };
  if (patch.status !== undefined) columns.status = patch.status;
  if (patch.delivered !== undefined) columns.delivered = patch.delivered ? 1 : 0;
  if (patch.repeats !== undefined) columns.repeats = patch.repeats;
  if (patch.scheduledAtMs !== undefined) columns.scheduled_at = patch.scheduledAtMs;
  if (patch.startTimeMs !== undefined) columns.start_time = patch.startTimeMs;
  if (patch.finishTimeMs !== undefined) columns.finish_time = patch.finishTimeMs;
  if (patch.stopTimeMs !== undefined) columns.stop_time = patch.stopTimeMs;
  if (patch.exitCode !== undefined) columns.exit_code = patch.exitCode;
  if (patch.errorCode !== undefined) columns.error_code = patch.errorCode;
  if (patch.errorInfo !== undefined) columns.error_info = patch.errorInfo;
  return columns;
}

// Columns of a run, prefixed so they can sit beside the invocation's in one joined row.
export const runColumns = [
  'ii.seq as run_seq',
  'ii.invoke_id as run_invoke_id',
  'ii.instance_id as run_instance_id',
  'ii.execution as run_execution',
  'ii.repeats as run_repeats',
  'ii.scheduled_at as run_scheduled_at',
  'ii.status as run_status',
  'ii.error_code as run_error_code',
  'ii.error_info as run_error_info',
  'ii.exit_code as run_exit_code',
  'ii.output_bytes as run_output_bytes',
  'ii.dropped_bytes as run_dropped_bytes',
  'ii.delivered as run_delivered',
  'ii.created_at as run_created_at',
  'ii.start_time as run_start_time',
  'ii.finish_time as run_finish_time',
  'ii.stop_time as run_stop_time',
  'ii.update_time as run_update_time',
  'ii.held as run_held',
] as const;

/** A run's columns as `runColumns` selects them. */
export type RunColumns = { readonly [K in keyof RunRow & string as `run_${K}`]: RunRow[K] };

/** A run beside its invocation's columns. */
export type JoinedRow = InvocationRow & RunColumns;

export const runOf = (row: RunColumns): InvocationInstance =>
  toRun({
    seq: row.run_seq,
    invoke_id: row.run_invoke_id,
    instance_id: row.run_instance_id,
    execution: row.run_execution,
    repeats: row.run_repeats,
    scheduled_at: row.run_scheduled_at,
    status: row.run_status,
    error_code: row.run_error_code,
    error_info: row.run_error_info,
    exit_code: row.run_exit_code,
    output_bytes: row.run_output_bytes,
    dropped_bytes: row.run_dropped_bytes,
    delivered: row.run_delivered,
    created_at: row.run_created_at,
    start_time: row.run_start_time,
    finish_time: row.run_finish_time,
    stop_time: row.run_stop_time,
    update_time: row.run_update_time,
    held: row.run_held,
  });

/** A run's key from its row (PostgreSQL returns bigints as strings). */
export const runKeyOf = (row: {
  invoke_id: string;
  instance_id: string;
  execution: number | string;
}): RunKey => ({
  invokeId: row.invoke_id,
  instanceId: row.instance_id,
  execution: Number(row.execution),
});

/** A run's key as text, for maps and staged rows. */
export const runKeyText = (invokeId: string, instanceId: string, execution: number): string =>
  `${invokeId}/${instanceId}/${execution}`;

/** Runs beside their invocations' columns. */
export const joined = (db: Kysely<Schema>) =>
  db.selectFrom('invocation_instances as ii').innerJoin('invocations', 'invocations.id', 'ii.invoke_id');
