import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { type SendFileInput, targetDirFits, validateSendFile } from './send-file.js';

const valid: SendFileInput = {
  name: 'app.conf',
  content: 'port=80\n',
  targetDir: '/etc/app',
  instanceIds: ['mi-1'],
  tags: [],
};

const codeOf = (input: Partial<SendFileInput>) => errorCodeOf(() => validateSendFile({ ...valid, ...input }));

/** A Base64 text of exactly `length` characters (a multiple of 4). */
const base64Of = (length: number) => Buffer.alloc((length / 4) * 3, 7).toString('base64');

describe('SendFile rules', () => {
  it('fills the documented defaults', () => {
    expect(validateSendFile(valid)).toEqual({
      file: {
        name: 'app.conf',
        targetDir: '/etc/app',
        owner: 'root',
        group: 'root',
        mode: '0644',
        overwrite: false,
        contentType: 'PlainText',
      },
      description: '',
      contentBase64: Buffer.from('port=80\n').toString('base64'),
      timeoutSeconds: 60,
      instanceIds: ['mi-1'],
      resourceGroupId: '',
      clientToken: '',
      tags: [],
    });
  });

  it.each<[string, Partial<SendFileInput>, string | undefined]>([
    ['no Name', { name: undefined }, 'MissingParameter'],
    ['an empty Name', { name: '' }, 'MissingParameter'],
    ['no TargetDir', { targetDir: undefined }, 'MissingParameter'],
    ['no Content', { content: undefined }, 'MissingParameter'],
    ['an empty Content', { content: '' }, 'MissingParameter'],
    ['no InstanceId.N', { instanceIds: [] }, 'MissingParam.InstanceId'],
    [
      '51 instances',
      { instanceIds: Array.from({ length: 51 }, (_, i) => `mi-${i}`) },
      'InstanceIds.ExceedLimit',
    ],
    ['50 instances', { instanceIds: Array.from({ length: 50 }, (_, i) => `mi-${i}`) }, undefined],
    ['a Name of 255 characters', { name: 'n'.repeat(255) }, undefined],
    ['a Name of 256 characters', { name: 'n'.repeat(256) }, 'FileName.ExceedLimit'],
    ['a Name with a slash', { name: 'a/b' }, 'InvalidFileName.Malformed'],
    ['the Name "."', { name: '.' }, 'InvalidFileName.Malformed'],
    ['the Name ".."', { name: '..' }, 'InvalidFileName.Malformed'],
    ['a Name with NUL', { name: 'a\0b' }, 'InvalidFileName.Malformed'],
    ['a Name of any character set', { name: '配置 file..txt' }, undefined],
    ['a relative TargetDir', { targetDir: 'etc/app' }, 'InvalidTargetDir.Malformed'],
    ['a TargetDir with NUL', { targetDir: '/etc\0' }, 'InvalidTargetDir.Malformed'],
    ['a Windows TargetDir', { targetDir: 'C:\\ProgramData\\app' }, undefined],
    ['a TargetDir of 256 characters', { targetDir: `/${'d'.repeat(255)}` }, 'TargetDir.ExceedLimit'],
    ['a TargetDir of 255 characters', { targetDir: `/${'d'.repeat(254)}` }, undefined],
    ['an unknown ContentType', { contentType: 'Hex' }, 'InvalidParameter.ContentType'],
    ['ContentType in other case', { contentType: 'base64', content: 'aGk=' }, undefined],
    [
      'Content that is not Base64',
      { contentType: 'Base64', content: 'not base64!' },
      'FileContent.DecodeError',
    ],
    ['32768 bytes of Base64', { contentType: 'Base64', content: base64Of(32_768) }, undefined],
    [
      '32772 bytes of Base64',
      { contentType: 'Base64', content: base64Of(32_772) },
      'FileContent.ExceedLimit',
    ],
    [
      '32769 characters sent as Base64',
      { contentType: 'Base64', content: `${base64Of(32_768)}A` },
      'FileContent.ExceedLimit',
    ],
    ['multi-byte text of 32768 bytes encoded', { content: 'é'.repeat(12_288) }, undefined],
    [
      'multi-byte text of 32772 bytes encoded',
      { content: `${'é'.repeat(12_288)}x` },
      'FileContent.ExceedLimit',
    ],
    ['plain text of 24576 bytes (32768 encoded)', { content: 'x'.repeat(24_576) }, undefined],
    ['plain text of 24577 bytes (32772 encoded)', { content: 'x'.repeat(24_577) }, 'FileContent.ExceedLimit'],
    ['a Description of 513 characters', { description: 'd'.repeat(513) }, 'FileDesc.ExceedLimit'],
    ['an owner of 65 characters', { fileOwner: 'o'.repeat(65) }, 'FileOwner.ExceedLimit'],
    ['an owner starting with -', { fileOwner: '-r' }, 'InvalidFileOwner.Malformed'],
    ['an owner of digits', { fileOwner: '1000' }, 'InvalidFileOwner.Malformed'],
    ['an owner with a colon', { fileOwner: 'a:b' }, 'InvalidFileOwner.Malformed'],
    ['a group of 65 characters', { fileGroup: 'g'.repeat(65) }, 'FileGroup.ExceedLimit'],
    ['a group with a space', { fileGroup: 'a b' }, 'InvalidFileGroup.Malformed'],
    ['a symbolic FileMode', { fileMode: 'u+x' }, 'InvalidFileMode.Malformed'],
    ['a FileMode with an 8', { fileMode: '0648' }, 'InvalidFileMode.Malformed'],
    ['a FileMode of 5 digits', { fileMode: '00644' }, 'InvalidFileMode.Malformed'],
    ['a Timeout over a day', { timeoutSeconds: 86_401 }, 'InvalidTimeout.ExceedLimit'],
    ['a bad ClientToken', { clientToken: 'é' }, 'InvalidClientToken.Malformed'],
    ['a bad tag', { tags: [{ key: 'aliyun:x', value: 'v' }] }, 'InvalidTagKey.Malformed'],
  ])('%s → %s', (_, input, code) => {
    expect(codeOf(input)).toBe(code);
  });

  it('takes an upload instead of Content, never both, never neither', () => {
    const uploaded = validateSendFile({ ...valid, content: undefined, uploadId: 'up-1' });
    expect(uploaded).toMatchObject({ contentBase64: '', uploadId: 'up-1' });
    expect(validateSendFile(valid).uploadId).toBeUndefined();
    expect(codeOf({ uploadId: 'up-1' })).toBe('InvalidParameter');
    expect(codeOf({ content: undefined, uploadId: '' })).toBe('MissingParameter');
  });

  it('checks what is required before shapes', () => {
    expect(codeOf({ name: undefined, fileMode: 'bad', content: 'x'.repeat(40_000) })).toBe(
      'MissingParameter',
    );
    expect(codeOf({ content: 'x'.repeat(40_000), instanceIds: [] })).toBe('FileContent.ExceedLimit');
  });

  it.each<[string | undefined, string]>([
    [undefined, '0644'],
    ['', '0644'],
    ['755', '0755'],
    ['0600', '0600'],
    ['4755', '4755'],
    ['7', '0007'],
  ])('keeps FileMode %s as %s', (mode, kept) => {
    expect(validateSendFile({ ...valid, fileMode: mode }).file.mode).toBe(kept);
  });

  it.each<[number | undefined, number]>([
    [undefined, 60],
    [0, 10],
    [-5, 10],
    [9, 10],
    [10, 10],
    [3600, 3600],
  ])('takes Timeout %s as %s seconds (under 10 is raised to 10)', (timeout, seconds) => {
    expect(validateSendFile({ ...valid, timeoutSeconds: timeout }).timeoutSeconds).toBe(seconds);
  });

  it('keeps Base64 content as sent, and names each instance once', () => {
    const request = validateSendFile({
      ...valid,
      contentType: 'Base64',
      content: 'AAEC',
      instanceIds: ['mi-1', 'mi-2', 'mi-1'],
      overwrite: true,
      fileOwner: 'app',
      fileGroup: 'staff',
    });
    expect(request).toMatchObject({
      contentBase64: 'AAEC',
      instanceIds: ['mi-1', 'mi-2'],
      file: { contentType: 'Base64', overwrite: true, owner: 'app', group: 'staff' },
    });
  });

  it.each<[string, string, boolean]>([
    ['/etc', 'linux', true],
    ['C:\\app', 'linux', false],
    ['C:\\app', 'windows', true],
    ['/etc', 'windows', false],
  ])('%s fits a %s instance: %s', (dir, osType, fits) => {
    expect(targetDirFits(dir, osType)).toBe(fits);
  });
});
