import { describe, expect, it } from 'vitest';
import { isApiError } from './errors.js';
import {
  checkSessionCount,
  defaultSessionManagerConfig,
  endStatus,
  readSessionManagerConfig,
  type StartSessionRequest,
  validateStartSession,
} from './terminal-session.js';

const codeOf = (run: () => unknown): string => {
  try {
    run();
  } catch (error) {
    if (isApiError(error)) return error.code;
    throw error;
  }
  return 'ok';
};

const base: StartSessionRequest = { instanceIds: ['mi-1'] };

describe('validateStartSession', () => {
  it.each<[string, Partial<StartSessionRequest>, string]>([
    ['no instance', { instanceIds: [] }, 'MissingParameter.InstanceIds'],
    ['two instances', { instanceIds: ['mi-1', 'mi-2'] }, 'InstanceIds.ExceedLimit'],
    ['a shell', {}, 'ok'],
    ['a command of 512 characters', { commandLine: 'x'.repeat(512) }, 'ok'],
    ['a command of 513', { commandLine: 'x'.repeat(513) }, 'CommandLine.ExceedLimit'],
    ['a NUL in the command', { commandLine: 'a\0b' }, 'InvalidParameter'],
    ['port 0', { portNumber: 0 }, 'InvalidPortNumber.Malformed'],
    ['port 65536', { portNumber: 65_536 }, 'InvalidPortNumber.Malformed'],
    ['port 22', { portNumber: 22 }, 'ok'],
    ['a target without a port', { targetServer: '10.0.0.1' }, 'MissingParameter.PortNumber'],
    ['a host name target', { targetServer: 'db-1.internal', portNumber: 5432 }, 'ok'],
    ['an IPv6 target', { targetServer: '[fd00::1]', portNumber: 5432 }, 'ok'],
    ['a target with a space', { targetServer: 'a b', portNumber: 1 }, 'InvalidTargetServer.Malformed'],
    ['a target with a path', { targetServer: 'a/b', portNumber: 1 }, 'InvalidTargetServer.Malformed'],
    ['a port and a command', { portNumber: 22, commandLine: 'ls' }, 'InvalidParameter'],
    ['a user name with a space', { username: 'a b' }, 'InvalidUsername.Malformed'],
    ['a user name of 256', { username: 'u'.repeat(256) }, 'Username.ExceedLimit'],
    ['Intranet', { connectionType: 'Intranet' }, 'ok'],
    ['another connection type', { connectionType: 'Direct' }, 'InvalidParameter.ConnectionType'],
    ['a password name of 256', { passwordName: 'p'.repeat(256) }, 'WindowsPasswordName.ExceedLimit'],
    ['encryption off', { encryptionOptions: '{"Enabled":false,"Mode":"Auto"}' }, 'ok'],
    [
      'encryption on (not offered)',
      { encryptionOptions: '{"Enabled":true}' },
      'InvalidParameter.EncryptionOptions',
    ],
    ['another mode', { encryptionOptions: '{"Mode":"Rot13"}' }, 'InvalidParameter.EncryptionOptions'],
    ['not an object', { encryptionOptions: '[]' }, 'InvalidParameter.EncryptionOptions'],
    ['not JSON', { encryptionOptions: '{' }, 'InvalidParameter.EncryptionOptions'],
  ])('%s → %s', (_name, fields, code) => {
    expect(codeOf(() => validateStartSession({ ...base, ...fields }))).toBe(code);
  });

  it('gives the defaults of what is not sent', () => {
    expect(validateStartSession(base)).toEqual({
      instanceId: 'mi-1',
      commandLine: '',
      portNumber: 0,
      targetServer: '',
      username: '',
      connectionType: '',
      passwordName: '',
      encryptionOptions: '',
    });
  });
});

describe('session limits and ends', () => {
  it('refuses one more session past either limit', () => {
    const limits = { perInstance: 2, total: 5 };
    expect(codeOf(() => checkSessionCount({ instance: 1, total: 4 }, limits))).toBe('ok');
    expect(codeOf(() => checkSessionCount({ instance: 2, total: 2 }, limits))).toBe(
      'SessionCount.ExceedLimit',
    );
    expect(codeOf(() => checkSessionCount({ instance: 0, total: 5 }, limits))).toBe(
      'SessionCount.ExceedLimit',
    );
  });

  it('tells a failed session from a closed one', () => {
    expect(endStatus('ShellExited')).toBe('Closed');
    expect(endStatus('IdleTimeout')).toBe('Closed');
    expect(endStatus('AgentNotConnected')).toBe('Failed');
    expect(endStatus('UserNotExists')).toBe('Failed');
  });
});

describe('readSessionManagerConfig', () => {
  it('applies the fields given over the current ones; an empty value is the default', () => {
    const off = readSessionManagerConfig('{"SessionManagerEnabled":false}', defaultSessionManagerConfig);
    expect(off).toEqual({ sessionManagerEnabled: false, recordInput: false });
    expect(readSessionManagerConfig('{"RecordInput":"true"}', off)).toEqual({
      sessionManagerEnabled: false,
      recordInput: true,
    });
    expect(readSessionManagerConfig('{"SessionManagerEnabled":""}', off)).toEqual(
      defaultSessionManagerConfig,
    );
  });

  it.each(['[]', 'nope', '{"Enabled":true}', '{"RecordInput":1}'])('refuses %s', (json) => {
    expect(codeOf(() => readSessionManagerConfig(json, defaultSessionManagerConfig))).toBe(
      'InvalidParameter',
    );
  });
});
