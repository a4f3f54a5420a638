import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import type { Command } from './command.js';
import { commandFits, renderScript, resolveParameters, validateInvokeRequest } from './invocation.js';

const command = (names: string[], enable = true, content = 'echo'): Command => ({
  id: 'c-1',
  regionId: 'r',
  name: 'n',
  description: '',
  type: 'RunShellScript',
  contentBase64: Buffer.from(content).toString('base64'),
  workingDir: '',
  timeoutSeconds: 60,
  enableParameter: enable,
  parameterNames: names,
  launcher: '',
  resourceGroupId: '',
  clientToken: '',
  version: 1,
  invokeTimes: 0,
  createdAtMs: 0,
  seq: 1,
  tags: [],
});

describe('InvokeCommand parameters (the seed)', () => {
  it('fills defined parameters that are not passed with empty strings', () => {
    expect(resolveParameters(command(['a', 'b']), '{"a":"1"}')).toEqual({ a: '1', b: '' });
    expect(resolveParameters(command(['a']), '{"a":""}')).toEqual({ a: '' });
    expect(resolveParameters(command([], false), undefined)).toEqual({});
  });

  it('refuses each broken rule with its code', () => {
    const codeOf = (names: string[], text: string | undefined, enable = true) =>
      errorCodeOf(() => resolveParameters(command(names, enable), text));
    expect(codeOf(['a'], undefined)).toBe('Parameter.MissingValue');
    expect(codeOf([], '{"a":"1"}', false)).toBe('Parameter.Disabled');
    expect(codeOf(['a'], '[1]')).toBe('InvalidParameter.Parameters');
    expect(codeOf(['a'], '{bad')).toBe('InvalidParameter.Parameters');
    // Hostile nesting is refused with a code, never a stack overflow.
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(codeOf(['a'], deep)).toBe('InvalidParameter.Parameters');
    expect(codeOf(['a'], `{"a":${deep}}`)).toMatch(/^(InvalidParameter|Parameter)/);
    expect(codeOf(['a'], '{"":"1"}')).toBe('InvalidParameter.Parameters');
    expect(codeOf(['a'], '{"a":1}')).toBe('ParameterType.NotSupported');
    expect(codeOf(['a'], '{"b":"1"}')).toBe('Parameter.NotMatched');
    expect(codeOf(['a'], `{"${'k'.repeat(65)}":"1"}`)).toBe('ParameterKey.ExceedLimit');
    const eleven = JSON.stringify(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`p${i}`, ''])));
    expect(codeOf([], eleven)).toBe('ParameterCount.ExceedLimit');
    expect(codeOf(['a'], '{"a":"1", "a" :"2"}')).toBe('ParameterKey.Duplicate');
    expect(codeOf(['a'], '{"a":"say \\"a\\": twice"}')).toBeUndefined();
    expect(codeOf(['a'], `{"a":"${'x'.repeat(14_000)}"}`)).toBe('CmdContent.ExceedLimit');
  });

  it('counts the content against the 18 KB limit whether Parameters is sent or not', () => {
    // 15,000 bytes are 20,000 in Base64: over 18,432 on its own.
    const big = (enable: boolean) => command(enable ? ['a'] : [], enable, 'x'.repeat(15_000));
    for (const text of [undefined, '{}']) {
      expect(
        errorCodeOf(() => resolveParameters(big(false), text)),
        String(text),
      ).toBe('CmdContent.ExceedLimit');
    }
    expect(errorCodeOf(() => resolveParameters(big(true), '{"a":""}'))).toBe('CmdContent.ExceedLimit');
    // 13,824 bytes are exactly 18,432 in Base64: at the limit, allowed.
    expect(resolveParameters(command([], false, 'x'.repeat(13_824)), undefined)).toEqual({});
    expect(errorCodeOf(() => resolveParameters(command([], false, 'x'.repeat(13_824)), '{}'))).toBe(
      'CmdContent.ExceedLimit',
    );
  });
});

describe('InvokeCommand request shape', () => {
  const codeOf = (input: Partial<Parameters<typeof validateInvokeRequest>[0]>) =>
    errorCodeOf(() => validateInvokeRequest({ instanceIds: ['mi-1'], tags: [], ...input }));

  it('makes Frequency imply Period, and knows every repeat mode (case-sensitive)', () => {
    expect(
      validateInvokeRequest({ instanceIds: ['mi-1'], tags: [], frequency: 'rate(5m)', repeatMode: 'Once' })
        .repeatMode,
    ).toBe('Period');
    expect(codeOf({ repeatMode: 'Period' })).toBe('MissingParam.Frequency');
    for (const mode of ['NextRebootOnly', 'EveryReboot', 'Once', 'DryRun'])
      expect(validateInvokeRequest({ instanceIds: ['mi-1'], tags: [], repeatMode: mode }).repeatMode).toBe(
        mode,
      );
    // A dry run stays one with a Frequency (the Frequency is still checked, by the service).
    const dry = validateInvokeRequest({
      instanceIds: ['mi-1'],
      tags: [],
      repeatMode: 'DryRun',
      frequency: 'rate(5m)',
    });
    expect([dry.repeatMode, dry.frequency]).toEqual(['DryRun', 'rate(5m)']);
    expect(codeOf({ repeatMode: 'once' })).toBe('InvalidRepeatMode.NotFound');
    expect(codeOf({ terminationMode: 'Group' })).toBe('InvalidParameter');
    expect(validateInvokeRequest({ instanceIds: ['mi-1', 'mi-1'], tags: [] }).instanceIds).toEqual(['mi-1']);
  });
});

describe('scripts and fit', () => {
  it('fills custom and built-in parameters, leaving unknown placeholders alone', () => {
    expect(
      renderScript(
        '{{a}} {{ a }} {{ACS::InstanceId}} {{ACS::Nope}} {{other}}',
        { a: 'x' },
        { InstanceId: 'mi-1' },
      ),
    ).toBe('x x mi-1 {{ACS::Nope}} {{other}}');
  });

  it('matches command types to operating systems', () => {
    expect(commandFits('RunShellScript', 'linux', [])).toBe(true);
    expect(commandFits('RunShellScript', 'windows', [])).toBe(false);
    expect(commandFits('RunBatScript', 'linux', [])).toBe(false);
    expect(commandFits('RunPowerShellScript', 'linux', ['bash'])).toBe(false);
    expect(commandFits('RunPowerShellScript', 'linux', ['pwsh'])).toBe(true);
  });
});
