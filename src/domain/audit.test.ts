import { describe, expect, it } from 'vitest';
import { auditLimits, eventRWOf, isSecretParameter, redactParameters, resourceIdsOf } from './audit.js';

const digest = (value: string) => `digest(${value.length})`;

describe('audit redaction: no secret or script content in a record', () => {
  it.each([
    ['RunCommand', 'CommandContent', true],
    ['CreateCommand', 'CommandContent', true],
    ['SendFile', 'Content', true],
    ['SendFile', 'ContentType', false],
    ['InvokeCommand', 'Parameters', true],
    ['InvokeCommand', 'WindowsPasswordName', true],
    ['CreateWebhook', 'Secret', true],
    ['CreateSecretParameter', 'Value', true],
    ['CreateParameter', 'Value', false],
    ['CreateSecretParameter', 'Tag.1.Value', false],
    ['DescribeInstances', 'Signature', true],
    ['DescribeInstances', 'SecurityToken', true],
    ['Anything', 'AccessKeySecret', true],
    ['Anything', 'ActivationCode', true],
    ['Anything', 'ContentEncoding', false],
    ['InvokeCommand', 'ClientToken', false],
    ['InvokeCommand', 'InstanceId.1', false],
  ])('%s %s is secret: %s', (action, name, secret) => {
    expect(isSecretParameter(action, name)).toBe(secret);
  });

  it('digests secrets, keeps the rest, leaves out the signature protocol fields', () => {
    const kept = redactParameters(
      'RunCommand',
      new Map([
        ['Action', 'RunCommand'],
        ['AccessKeyId', 'LTAIxyz'],
        ['SignatureNonce', 'n'],
        ['CommandContent', 'ZWNobyBzZWNyZXQ='],
        ['InstanceId.1', 'mi-1'],
        ['Type', 'RunShellScript'],
      ]),
      digest,
    );
    expect({ ...kept }).toEqual({
      CommandContent: 'digest(16)',
      'InstanceId.1': 'mi-1',
      Type: 'RunShellScript',
    });
  });

  it('keeps custom parameter names and digests their values', () => {
    const kept = redactParameters(
      'InvokeCommand',
      new Map([['Parameters', '{"user":"u","pass":"hunter2"}']]),
      digest,
    );
    expect(JSON.parse(kept.Parameters ?? '')).toEqual({ user: 'digest(1)', pass: 'digest(7)' });
  });

  it('digests Parameters that are not a JSON map whole', () => {
    expect(redactParameters('InvokeCommand', new Map([['Parameters', 'not json hunter2']]), digest)).toEqual({
      Parameters: 'digest(16)',
    });
  });

  it('bounds values, the number of entries and the total size', () => {
    const many = new Map<string, string>();
    for (let i = 0; i < 500; i += 1) many.set(`Tag.${i}.Key`, 'x'.repeat(5000));
    const kept = redactParameters('TagResources', many, digest);
    const text = JSON.stringify(kept);
    expect(text.length).toBeLessThan(auditLimits.parameterChars + 2000);
    expect(Number(kept.MoreParametersNotRecorded)).toBeGreaterThan(0);
    expect(kept['Tag.0.Key']?.length).toBeLessThan(1100);
  });

  it.each([
    ['InstanceId.1', 'InstanceId.1'],
    ['a><eventName>forged</eventName><b', 'a__eventName_forged__eventName__b'],
    ['1st', '_1st'],
    ['with space', 'with_space'],
  ])('keeps the name %j as %j, safe as an XML element name', (name, kept) => {
    expect(Object.keys(redactParameters('X', new Map([[name, 'v']]), digest))).toEqual([kept]);
  });

  it('keeps both values when two names clean up alike', () => {
    const kept = redactParameters(
      'X',
      new Map([
        ['a b', '1'],
        ['a<b', '2'],
      ]),
      digest,
    );
    expect({ ...kept }).toEqual({ a_b: '1', a_b_: '2' });
  });

  it('keeps a parameter named __proto__ as a plain entry', () => {
    const kept = redactParameters('X', new Map([['__proto__', 'v']]), digest);
    expect(Object.keys(kept)).toEqual(['__proto__']);
  });
});

describe('resource ids of a call', () => {
  it('reads single ids, .N lists and JSON lists, without repeats', () => {
    const ids = resourceIdsOf(
      'InvokeCommand',
      new Map([
        ['CommandId', 'c-1'],
        ['InstanceId.1', 'mi-1'],
        ['InstanceId.2', 'mi-2'],
        ['InstanceIds', '["mi-2","mi-3"]'],
        ['Name', 'a label'],
        ['AccessKeyId', 'LTAIsigner'],
      ]),
    );
    expect(ids).toEqual(['c-1', 'mi-1', 'mi-2', 'mi-3']);
  });

  it('takes Name for parameter store actions and AccessKeyId for key actions', () => {
    expect(resourceIdsOf('GetSecretParameter', new Map([['Name', 'db-pass']]))).toEqual(['db-pass']);
    expect(resourceIdsOf('DeleteAccessKey', new Map([['UserAccessKeyId', 'LTAIother']]))).toEqual([
      'LTAIother',
    ]);
  });

  it('is bounded in count and length', () => {
    const params = new Map<string, string>();
    for (let i = 1; i <= 200; i += 1) params.set(`InstanceId.${i}`, `mi-${i}-${'x'.repeat(300)}`);
    const ids = resourceIdsOf('InvokeCommand', params);
    expect(ids).toHaveLength(auditLimits.resourceIds);
    expect(Math.max(...ids.map((id) => id.length))).toBe(auditLimits.resourceIdChars);
  });
});

describe('read or write', () => {
  it.each([
    ['DescribeInvocations', 'Read'],
    ['ListTagResources', 'Read'],
    ['LookupEvents', 'Read'],
    ['InvokeCommand', 'Write'],
    ['RegisterInstance', 'Write'],
  ])('%s is a %s', (name, rw) => expect(eventRWOf(name)).toBe(rw));
});
