import { describe, expect, it } from 'vitest';
import { ApiError } from './errors.js';
import {
  defaultOssDeliveryConfig,
  defaultRetrySchedule,
  deliveryTarget,
  nextAttemptDelayMs,
  ossUri,
  outputObjectKey,
  parseOssUri,
  readOssDeliveryConfig,
  storedOssDeliveryConfig,
} from './output-delivery.js';

const codeOf = (call: () => unknown): string | undefined => {
  try {
    call();
  } catch (error) {
    return error instanceof ApiError ? error.code : 'not an ApiError';
  }
  return undefined;
};

describe('oss://bucket/prefix', () => {
  it.each([
    ['oss://logs', { bucket: 'logs', prefix: '' }],
    ['oss://logs/', { bucket: 'logs', prefix: '' }],
    ['oss://my-bucket.v2/a/b', { bucket: 'my-bucket.v2', prefix: 'a/b' }],
    ['oss://my-bucket/a/b///', { bucket: 'my-bucket', prefix: 'a/b' }],
    ['oss://abc/日本/x y', { bucket: 'abc', prefix: '日本/x y' }],
  ])('reads %s', (text, target) => {
    expect(parseOssUri(text)).toEqual(target);
    expect(parseOssUri(ossUri(target))).toEqual(target);
  });

  it.each([
    's3://logs/x',
    'oss:/logs',
    'oss://',
    'oss://ab',
    `oss://${'a'.repeat(64)}`,
    'oss://Logs',
    'oss://-logs',
    'oss://logs-',
    'oss://lo..gs',
    'oss://lo_gs',
    'oss://logs//x',
    'oss://logs/\\x',
    'oss://logs/a//b',
    'oss://logs/a/../b',
    'oss://logs/./b',
    'oss://logs/a\nb',
    `oss://logs/${'p'.repeat(255)}`,
  ])('refuses %j with InvalidParameter.OssOutputDelivery', (text) => {
    expect(codeOf(() => parseOssUri(text))).toBe('InvalidParameter.OssOutputDelivery');
  });
});

describe('object keys', () => {
  const run = { invokeId: 't-1', instanceId: 'mi-2', execution: 0 };
  it('are prefix/InvokeId/InstanceId.log for a run of its own', () => {
    expect(outputObjectKey('a/b', run, 'Once')).toBe('a/b/t-1/mi-2.log');
    expect(outputObjectKey('', run, 'NextRebootOnly')).toBe('t-1/mi-2.log');
  });
  it('are prefix/InvokeId/InstanceId/N.log for run N of a schedule or reboot task', () => {
    expect(outputObjectKey('a', { ...run, execution: 3 }, 'Period')).toBe('a/t-1/mi-2/3.log');
    expect(outputObjectKey('', { ...run, execution: 12 }, 'EveryReboot')).toBe('t-1/mi-2/12.log');
  });
});

describe('retry schedule', () => {
  it('doubles from the base, waits at most 60 bases, and gives up after 12 attempts', () => {
    const schedule = defaultRetrySchedule();
    const delays = Array.from({ length: 12 }, (_, i) => nextAttemptDelayMs(schedule, i + 1));
    expect(delays).toEqual([
      5_000,
      10_000,
      20_000,
      40_000,
      80_000,
      160_000,
      300_000,
      300_000,
      300_000,
      300_000,
      300_000,
      undefined,
    ]);
    const total = delays.reduce<number>((sum, delay) => sum + (delay ?? 0), 0);
    expect(total).toBe(1_815_000); // about 30 minutes
    expect(nextAttemptDelayMs(defaultRetrySchedule(500), 3)).toBe(2_000);
  });
});

describe('OssDeliveryConfig', () => {
  it('applies fields over the stored ones and reads back what it stored', () => {
    const on = readOssDeliveryConfig(
      '{"Enabled":true,"BucketName":"logs","Prefix":"runs/"}',
      defaultOssDeliveryConfig,
    );
    expect(on).toEqual({ enabled: true, bucketName: 'logs', prefix: 'runs', encryptionType: 'Inherit' });
    expect(readOssDeliveryConfig('{"Prefix":""}', on).prefix).toBe('');
    const stored = JSON.stringify({
      Enabled: true,
      BucketName: 'logs',
      Prefix: 'runs',
      EncryptionType: 'Inherit',
    });
    expect(storedOssDeliveryConfig(stored)).toEqual(on);
    expect(storedOssDeliveryConfig(undefined)).toEqual(defaultOssDeliveryConfig);
  });

  it.each([
    '{"Enabled":true}',
    '{"Enabled":"yes","BucketName":"logs"}',
    '{"Enabled":true,"BucketName":"Bad_Name"}',
    '{"BucketName":"logs","EncryptionType":"KMS"}',
    '{"BucketName":"logs","EncryptionKeyId":"k"}',
    '{"BucketName":"logs","Prefix":"/abs"}',
    '{"DeliveryType":"Invocation"}',
  ])('refuses %s', (json) => {
    expect(codeOf(() => readOssDeliveryConfig(json, defaultOssDeliveryConfig))).toBe('InvalidParameter');
  });

  it("is the target of invocations that name none, while enabled; an invocation's own wins", () => {
    const on = { enabled: true, bucketName: 'logs', prefix: 'p', encryptionType: 'Inherit' };
    expect(deliveryTarget(undefined, on)).toEqual({ bucket: 'logs', prefix: 'p' });
    expect(deliveryTarget('oss://mine/q', on)).toEqual({ bucket: 'mine', prefix: 'q' });
    expect(deliveryTarget(undefined, { ...on, enabled: false })).toBeUndefined();
    expect(deliveryTarget('', defaultOssDeliveryConfig)).toBeUndefined();
  });
});
