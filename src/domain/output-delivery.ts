import { ApiError } from './errors.js';
import type { RepeatMode } from './invocation.js';
import { readSettingObject } from './setting-json.js';

/**
 * Output delivery to object storage (docs/output-delivery.md): where a run's output goes
 * (`oss://bucket/prefix`), the object key of each run, and how often a failed upload is retried.
 */

/** Where an invocation's outputs go: an S3 bucket and a key prefix (no leading or trailing slash). */
export interface OssTarget {
  readonly bucket: string;
  readonly prefix: string;
}

/** OssOutputStatus of a run of an invocation that delivers its output. */
export const ossOutputStatuses = ['Pending', 'Uploading', 'Finished', 'Failed'] as const;
export type OssOutputStatus = (typeof ossOutputStatuses)[number];

// OSS and S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens, a letter or digit at each end.
const bucketPattern = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const maxPrefixLength = 254;

/** Checks a prefix by OSS's rules (at most 254 characters, no leading / or \), plus no `.` or `..` segment and no control character. */
function checkPrefix(prefix: string, invalid: (why: string) => Error): string {
  if (prefix.length > maxPrefixLength)
    throw invalid(`the prefix is longer than ${maxPrefixLength} characters.`);
  if (prefix.startsWith('/') || prefix.startsWith('\\')) throw invalid('the prefix starts with / or \\.');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(prefix)) throw invalid('the prefix has a control character.');
  const trimmed = prefix.replace(/\/+$/, '');
  const badSegment = (segment: string) => segment === '' || segment === '.' || segment === '..';
  if (trimmed !== '' && trimmed.split('/').some(badSegment))
    throw invalid('the prefix has an empty, . or .. segment.');
  return trimmed;
}

const invalidUri = (why: string) => new ApiError('InvalidParameter.OssOutputDelivery', why);

/** `oss://bucket[/prefix]` (InvokeCommand's and RunCommand's OssOutputDelivery). */
export function parseOssUri(text: string): OssTarget {
  const match = /^oss:\/\/([^/]*)(?:\/(.*))?$/s.exec(text);
  if (!match) throw invalidUri('It must start with oss://.');
  const bucket = match[1] ?? '';
  if (!bucketPattern.test(bucket) || bucket.includes('..'))
    throw invalidUri(`"${bucket.slice(0, 70)}" is not a bucket name.`);
  return { bucket, prefix: checkPrefix(match[2] ?? '', invalidUri) };
}

export const ossUri = (target: OssTarget): string =>
  target.prefix === '' ? `oss://${target.bucket}` : `oss://${target.bucket}/${target.prefix}`;

/**
 * A run's object key: `prefix/InvokeId/InstanceId.log`, or `prefix/InvokeId/InstanceId/N.log` for
 * run N of a schedule or reboot task (several runs on one instance).
 */
export function outputObjectKey(
  prefix: string,
  run: { readonly invokeId: string; readonly instanceId: string; readonly execution: number },
  mode: RepeatMode,
): string {
  // Schedules and reboot tasks (invocation.ts' hasExecutions; not imported: it imports this file).
  const name =
    mode === 'Period' || mode === 'EveryReboot'
      ? `${run.invokeId}/${run.instanceId}/${run.execution}.log`
      : `${run.invokeId}/${run.instanceId}.log`;
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** How failed uploads are retried: exponential from `baseMs`, each wait at most `maxDelayMs`, `maxAttempts` in all. */
export interface RetrySchedule {
  readonly baseMs: number;
  readonly maxDelayMs: number;
  readonly maxAttempts: number;
}

/** 5 s, 10 s, 20 s, … up to 5 min between attempts; 12 attempts span about 30 minutes. */
export const defaultRetrySchedule = (baseMs = 5_000): RetrySchedule => ({
  baseMs,
  maxDelayMs: baseMs * 60,
  maxAttempts: 12,
});

/** When to try again after `attempts` failed attempts; undefined: give up (the delivery is Failed). */
export function nextAttemptDelayMs(schedule: RetrySchedule, attempts: number): number | undefined {
  if (attempts >= schedule.maxAttempts) return undefined;
  return Math.min(schedule.maxDelayMs, schedule.baseMs * 2 ** (attempts - 1));
}

/**
 * ModifyCloudAssistantSettings' `OssDeliveryConfig` with SettingType InvocationDelivery: when
 * enabled, the region's invocations that name no OssOutputDelivery deliver to this bucket and
 * prefix. Only `Inherit` encryption (the bucket's own) is supported.
 */
export interface OssDeliveryConfig {
  readonly enabled: boolean;
  readonly bucketName: string;
  readonly prefix: string;
  readonly encryptionType: string;
}

export const defaultOssDeliveryConfig: OssDeliveryConfig = {
  enabled: false,
  bucketName: '',
  prefix: '',
  encryptionType: 'Inherit',
};

const wireField = 'OssDeliveryConfig';
const fields = [
  'Enabled',
  'BucketName',
  'Prefix',
  'EncryptionType',
  'EncryptionAlgorithm',
  'EncryptionKeyId',
];
const invalidSetting = (why: string) => new ApiError('InvalidParameter', `${wireField}: ${why}`);

/** Applies an `OssDeliveryConfig` JSON over the stored one; an enabled config needs a valid bucket. */
export function readOssDeliveryConfig(text: string, current: OssDeliveryConfig): OssDeliveryConfig {
  const value = readSettingObject(wireField, text, fields);
  const field = <T>(name: string, type: 'string' | 'boolean', fallback: T): T => {
    const given = value[name];
    if (given === undefined) return fallback;
    if (typeof given !== type) throw invalidSetting(`${name} must be a ${type}.`);
    return given as T;
  };
  const encryptionType = field('EncryptionType', 'string', current.encryptionType) || 'Inherit';
  if (encryptionType !== 'Inherit')
    throw invalidSetting(
      `EncryptionType ${encryptionType.slice(0, 20)} is not supported here; only Inherit (the bucket's own).`,
    );
  if (value.EncryptionAlgorithm !== undefined && value.EncryptionAlgorithm !== '')
    throw invalidSetting('EncryptionAlgorithm is not supported here (EncryptionType Inherit).');
  if (value.EncryptionKeyId !== undefined && value.EncryptionKeyId !== '')
    throw invalidSetting('EncryptionKeyId is not supported here (EncryptionType Inherit).');
  const config: OssDeliveryConfig = {
    enabled: field('Enabled', 'boolean', current.enabled),
    bucketName: field('BucketName', 'string', current.bucketName),
    prefix: checkPrefix(field('Prefix', 'string', current.prefix), invalidSetting),
    encryptionType,
  };
  if (config.enabled && (!bucketPattern.test(config.bucketName) || config.bucketName.includes('..')))
    throw invalidSetting(`BucketName "${config.bucketName.slice(0, 70)}" is not a bucket name.`);
  return config;
}

/** The target of an invocation: its own OssOutputDelivery, else the region's enabled default, else none. */
export function deliveryTarget(
  requested: string | undefined,
  regionDefault: OssDeliveryConfig,
): OssTarget | undefined {
  if (requested !== undefined && requested !== '') return parseOssUri(requested);
  if (regionDefault.enabled) return { bucket: regionDefault.bucketName, prefix: regionDefault.prefix };
  return undefined;
}

/** A stored `OssDeliveryConfig` (written by readOssDeliveryConfig's caller) over the defaults. */
export function storedOssDeliveryConfig(text: string | undefined): OssDeliveryConfig {
  if (text === undefined) return defaultOssDeliveryConfig;
  try {
    const value: unknown = JSON.parse(text);
    return readOssDeliveryConfig(JSON.stringify(value), defaultOssDeliveryConfig);
  } catch {
    return defaultOssDeliveryConfig;
  }
}
