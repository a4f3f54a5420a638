import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import {
  parseSize,
  type ResourceUsageConfig,
  readAppliedResourceUsage,
  readResourceUsageConfig,
  resourceCapsOf,
  storedResourceUsageConfig,
} from './resource-usage.js';

const read = (value: unknown, stored: ResourceUsageConfig = {}) =>
  readResourceUsageConfig(typeof value === 'string' ? value : JSON.stringify(value), stored);

describe('ResourceUsageConfig as ModifyCloudAssistantSettings takes it', () => {
  it('reads every field of the SDK model', () => {
    expect(
      read({
        CpuLimit: 20,
        MemoryLimit: '50MB',
        KeepScriptFile: false,
        LogSizeLimit: '100MB',
        LogFileCountLimit: 30,
        OverloadLimit: 3,
      }),
    ).toEqual({
      cpuLimit: 20,
      memoryLimit: '50MB',
      memoryLimitBytes: 50 * 1024 * 1024,
      keepScriptFile: false,
      logSizeLimit: '100MB',
      logFileCountLimit: 30,
      overloadLimit: 3,
    });
  });

  it('keeps the stored fields a call leaves out, and clears one given as "" or null', () => {
    const stored = read({ CpuLimit: 30, MemoryLimit: '64MB' });
    expect(read({ CpuLimit: 40 }, stored)).toEqual({ ...stored, cpuLimit: 40 });
    expect(read({}, stored)).toEqual(stored);
    expect(read({ MemoryLimit: '' }, stored)).toEqual({ cpuLimit: 30 });
    expect(read({ CpuLimit: null }, stored)).toEqual({
      memoryLimit: '64MB',
      memoryLimitBytes: 64 * 1024 * 1024,
    });
  });

  it('takes sizes in B, KB and MB, and quoted numbers from hand-written calls', () => {
    expect(parseSize('36864KB')).toBe(36 * 1024 * 1024);
    expect(parseSize('37748736B')).toBe(36 * 1024 * 1024);
    expect(parseSize('1gb')).toBeUndefined();
    expect(parseSize('12.5MB')).toBeUndefined();
    expect(read({ CpuLimit: '25', LogFileCountLimit: '7' })).toMatchObject({
      cpuLimit: 25,
      logFileCountLimit: 7,
    });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['an unknown field', { Cpu: 20 }],
    ['CpuLimit under 10', { CpuLimit: 9 }],
    ['CpuLimit over 95', { CpuLimit: 96 }],
    ['a fractional CpuLimit', { CpuLimit: 20.5 }],
    ['MemoryLimit without a unit', { MemoryLimit: '50' }],
    ['MemoryLimit under 35MB', { MemoryLimit: '34MB' }],
    ['MemoryLimit over 1024MB', { MemoryLimit: '1025MB' }],
    ['MemoryLimit as a number', { MemoryLimit: 52428800 }],
    ['LogSizeLimit under 10MB', { LogSizeLimit: '9MB' }],
    ['LogFileCountLimit over 365', { LogFileCountLimit: 366 }],
    ['OverloadLimit under 3', { OverloadLimit: 2 }],
    ['KeepScriptFile not a boolean', { KeepScriptFile: 'yes' }],
  ])('refuses %s with InvalidParameter', (_case, value) => {
    const error = (() => {
      try {
        read(value);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe('InvalidParameter');
    expect((error as ApiError).message).toContain('ResourceUsageConfig: ');
  });

  it('tells agents only the caps, in the units they write', () => {
    expect(resourceCapsOf(read({ CpuLimit: 20, MemoryLimit: '50MB', OverloadLimit: 5 }))).toEqual({
      cpuPercent: 20,
      memoryBytes: 50 * 1024 * 1024,
    });
    expect(resourceCapsOf({})).toEqual({});
  });

  it('reads a stored value back, dropping what does not belong', () => {
    const config = read({ CpuLimit: 20, MemoryLimit: '50MB', KeepScriptFile: true });
    expect(storedResourceUsageConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    expect(storedResourceUsageConfig({ cpuLimit: '20', other: 1 })).toEqual({});
    expect(storedResourceUsageConfig('x')).toEqual({});
  });
});

describe("an agent's report of its caps, as kept", () => {
  it('reads a kept report back, and nothing from none or a damaged one', () => {
    const report = {
      state: 'applied',
      mechanism: 'cgroup1',
      cgroup: '/a/openassist-mi-1/agent',
      memoryBytes: 1024,
      cpuPercent: 20,
      reportedAtMs: 5,
    };
    expect(readAppliedResourceUsage(JSON.stringify(report))).toEqual(report);
    expect(readAppliedResourceUsage('')).toBeUndefined();
    expect(readAppliedResourceUsage('{')).toBeUndefined();
    expect(readAppliedResourceUsage('{"state":"maybe","reportedAtMs":1}')).toBeUndefined();
    expect(readAppliedResourceUsage('{"state":"none","mechanism":"x","reportedAtMs":1}')).toEqual({
      state: 'none',
      reportedAtMs: 1,
    });
  });
});
