import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { validateWorkingDir } from './command.js';
import { validateInvokeRequest, validateUsername } from './invocation.js';

describe('Username and WorkingDir cannot carry shell syntax or options', () => {
  it('accepts Linux and Windows user names', () => {
    for (const name of [
      '',
      'root',
      'www-data',
      'svc_backup.1',
      'System',
      'CORP\\alice',
      'bob@corp.example',
      'żółw',
    ]) {
      expect(
        errorCodeOf(() => validateUsername(name)),
        name,
      ).toBeUndefined();
    }
  });

  it('refuses options, whitespace and shell syntax in Username with InvalidUsername.Malformed', () => {
    for (const name of [
      'root -c id',
      '-c',
      '--help',
      'root;id',
      'a$(id)',
      'a`id`',
      'a|b',
      'a\nb',
      "a'b",
      'a b',
      'a/b',
    ]) {
      expect(
        errorCodeOf(() => validateUsername(name)),
        name,
      ).toBe('InvalidUsername.Malformed');
    }
    expect(errorCodeOf(() => validateUsername('u'.repeat(256)))).toBe('Username.ExceedLimit');
  });

  it('accepts ordinary Linux and Windows directories', () => {
    for (const dir of [
      '',
      '/root',
      '/home/user/my dir',
      '/opt/app-1.2/bin',
      'C:\\Program Files (x86)\\App',
      '~/x',
      '/srv/{a}',
      '/data/100%',
    ]) {
      expect(
        errorCodeOf(() => validateWorkingDir(dir)),
        dir,
      ).toBeUndefined();
    }
  });

  it('refuses options, control characters and shell syntax in WorkingDir with InvalidParameter.WorkingDir', () => {
    for (const dir of [
      '-rf',
      '--',
      '/tmp; touch /tmp/pwned',
      '/tmp && id',
      '/tmp|id',
      '$(id)',
      '/`id`',
      '/tmp\nid',
      '/a\0b',
      '/a>b',
      '/a<b',
      "/a'b",
      '/a"b',
      '/a*',
      '/a?',
      '/a!b',
    ]) {
      expect(
        errorCodeOf(() => validateWorkingDir(dir)),
        JSON.stringify(dir),
      ).toBe('InvalidParameter.WorkingDir');
    }
  });

  it('checks both on InvokeCommand (RunCommand too: it shares the request)', () => {
    const base = { instanceIds: ['mi-1'], tags: [] };
    expect(errorCodeOf(() => validateInvokeRequest({ ...base, username: 'root -c id' }))).toBe(
      'InvalidUsername.Malformed',
    );
    expect(errorCodeOf(() => validateInvokeRequest({ ...base, workingDir: '/tmp; touch /tmp/pwned' }))).toBe(
      'InvalidParameter.WorkingDir',
    );
    expect(validateInvokeRequest({ ...base, username: 'root', workingDir: '/tmp' })).toMatchObject({
      username: 'root',
      workingDir: '/tmp',
    });
  });
});
