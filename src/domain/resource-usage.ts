import { isRecord } from '../guards.js';
import { ApiError } from './errors.js';
import { readSettingObject } from './setting-json.js';

/**
 * ModifyCloudAssistantSettings' `ResourceUsageConfig` (the SDK's model, JSON on the wire): caps the
 * agent puts on itself. Fields never given are unset: a self-hosted server limits no agent until
 * its operator says so (Alibaba applies its defaults, 20 % CPU and 50 MB, to every agent).
 *
 * `CpuLimit` is a percentage of one CPU (10 to 95), `MemoryLimit` a size with its unit (35MB to
 * 1024MB): the agent writes both into a cgroup of its own (docs/agent-protocol.md, "Resource caps"). `KeepScriptFile`,
 * `LogSizeLimit`, `LogFileCountLimit` and `OverloadLimit` are kept and returned; the agent has no
 * log files and removes each script before it starts, so it does not act on them.
 */
export interface ResourceUsageConfig {
  readonly cpuLimit?: number;
  /** Bytes; the wire text is kept beside it so Describe answers what was set. */
  readonly memoryLimitBytes?: number;
  readonly memoryLimit?: string;
  readonly keepScriptFile?: boolean;
  readonly logSizeLimit?: string;
  readonly logFileCountLimit?: number;
  readonly overloadLimit?: number;
}

/** What a connected agent is told to apply: the caps only, in the units it writes. */
export interface ResourceCaps {
  readonly cpuPercent?: number;
  readonly memoryBytes?: number;
}

export const resourceCapsOf = (config: ResourceUsageConfig): ResourceCaps => ({
  ...(config.cpuLimit !== undefined && { cpuPercent: config.cpuLimit }),
  ...(config.memoryLimitBytes !== undefined && { memoryBytes: config.memoryLimitBytes }),
});

const wireField = 'ResourceUsageConfig';
const invalid = (why: string) => new ApiError('InvalidParameter', `${wireField}: ${why}`);
const fields = [
  'CpuLimit',
  'MemoryLimit',
  'KeepScriptFile',
  'LogSizeLimit',
  'LogFileCountLimit',
  'OverloadLimit',
];

const mib = 1024 * 1024;
const units: Record<string, number> = { B: 1, KB: 1024, MB: mib };

/** `10MB`, `35840KB`, `52428800B` (the SDK's units B, KB, MB) to bytes; undefined when not such a size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d{1,13})(B|KB|MB)$/i.exec(text.trim());
  if (!match?.[1] || !match[2]) return undefined;
  return Number(match[1]) * (units[match[2].toUpperCase()] ?? 1);
}

function readInteger(value: unknown, name: string, min: number, max: number): number {
  // The SDK sends JSON numbers; a hand-written call may quote them.
  const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}.`);
  }
  return number;
}

function readSize(value: unknown, name: string, minMiB: number, maxMiB: number): [string, number] {
  const bytes = typeof value === 'string' ? parseSize(value) : undefined;
  if (typeof value !== 'string' || bytes === undefined || bytes < minMiB * mib || bytes > maxMiB * mib) {
    throw invalid(`${name} must be a size with its unit (B, KB or MB) from ${minMiB}MB to ${maxMiB}MB.`);
  }
  return [value.trim(), bytes];
}

function readBoolean(value: unknown, name: string): boolean {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(`${name} must be true or false.`);
}

/**
 * Reads the `ResourceUsageConfig` JSON of a ModifyCloudAssistantSettings call over the stored
 * config: the fields given replace the stored ones, the others are kept, `""` or null clears one.
 * Bounds are the SDK's.
 */
export function readResourceUsageConfig(text: string, stored: ResourceUsageConfig): ResourceUsageConfig {
  const given = readSettingObject(wireField, text, fields);
  const config: { -readonly [K in keyof ResourceUsageConfig]: ResourceUsageConfig[K] } = { ...stored };
  // An empty string (or null) clears a field: back to no limit (a model with no "unset" needs one).
  const cleared = (key: string) => given[key] === '' || given[key] === null;
  const present = (key: string) => given[key] !== undefined && !cleared(key);
  if (cleared('CpuLimit')) delete config.cpuLimit;
  if (present('CpuLimit')) config.cpuLimit = readInteger(given.CpuLimit, 'CpuLimit', 10, 95);
  if (cleared('MemoryLimit')) {
    delete config.memoryLimit;
    delete config.memoryLimitBytes;
  }
  if (present('MemoryLimit')) {
    [config.memoryLimit, config.memoryLimitBytes] = readSize(given.MemoryLimit, 'MemoryLimit', 35, 1024);
  }
  if (cleared('KeepScriptFile')) delete config.keepScriptFile;
  if (present('KeepScriptFile')) config.keepScriptFile = readBoolean(given.KeepScriptFile, 'KeepScriptFile');
  if (cleared('LogSizeLimit')) delete config.logSizeLimit;
  if (present('LogSizeLimit'))
    config.logSizeLimit = readSize(given.LogSizeLimit, 'LogSizeLimit', 10, 1024)[0];
  if (cleared('LogFileCountLimit')) delete config.logFileCountLimit;
  if (present('LogFileCountLimit')) {
    config.logFileCountLimit = readInteger(given.LogFileCountLimit, 'LogFileCountLimit', 7, 365);
  }
  if (cleared('OverloadLimit')) delete config.overloadLimit;
  if (present('OverloadLimit')) {
    // The SDK gives a minimum (3) and no maximum; 1000 keeps the number sane.
    config.overloadLimit = readInteger(given.OverloadLimit, 'OverloadLimit', 3, 1000);
  }
  return config;
}

/** A stored value read back: only the fields of the model with their types survive. */
export function storedResourceUsageConfig(value: unknown): ResourceUsageConfig {
  if (!isRecord(value)) return {};
  const number = (key: string) => (typeof value[key] === 'number' ? { [key]: value[key] } : {});
  const string = (key: string) => (typeof value[key] === 'string' ? { [key]: value[key] } : {});
  return {
    ...number('cpuLimit'),
    ...number('memoryLimitBytes'),
    ...string('memoryLimit'),
    ...(typeof value.keepScriptFile === 'boolean' && { keepScriptFile: value.keepScriptFile }),
    ...string('logSizeLimit'),
    ...number('logFileCountLimit'),
    ...number('overloadLimit'),
  };
}

/** What an agent reported it applied of its caps, as kept per instance. */
export interface AppliedResourceUsage {
  /** `none`: no caps asked, nothing touched; `applied`; `unavailable`: asked, not applied (`reason`). */
  readonly state: 'none' | 'applied' | 'unavailable';
  readonly mechanism?: 'cgroup2' | 'cgroup1';
  /** The agent's own cgroup, as its hierarchy names it. */
  readonly cgroup?: string;
  readonly cpuPercent?: number;
  readonly memoryBytes?: number;
  readonly reason?: string;
  readonly reportedAtMs: number;
}

/** A kept report read back; undefined for none (an agent that never reported) or a damaged one. */
export function readAppliedResourceUsage(text: string): AppliedResourceUsage | undefined {
  if (text === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || typeof value.reportedAtMs !== 'number') return undefined;
  const { state, mechanism } = value;
  if (state !== 'none' && state !== 'applied' && state !== 'unavailable') return undefined;
  return {
    state,
    ...((mechanism === 'cgroup2' || mechanism === 'cgroup1') && { mechanism }),
    ...(typeof value.cgroup === 'string' && { cgroup: value.cgroup }),
    ...(typeof value.cpuPercent === 'number' && { cpuPercent: value.cpuPercent }),
    ...(typeof value.memoryBytes === 'number' && { memoryBytes: value.memoryBytes }),
    ...(typeof value.reason === 'string' && { reason: value.reason }),
    reportedAtMs: value.reportedAtMs,
  };
}
