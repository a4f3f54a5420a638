import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { extractParameterNames, placeholderNames } from './parameters.js';

const codeOf = errorCodeOf;

describe('custom parameters: {{name}} placeholders (CreateCommand EnableParameter)', () => {
  it('lists names in order of first use, once each, trimming spaces', () => {
    expect(extractParameterNames('echo {{b}} {{ a }} {{b}} {{A-1_z}}')).toEqual(['b', 'a', 'A-1_z']);
  });

  it('skips built-in {{ACS::…}} parameters and Parameter Store references', () => {
    expect(
      extractParameterNames(
        '{{ACS::InstanceId}} {{ACS::ScriptFileName|Ext(".py")}} {{oos:pw}} {{oos-secret:k}} {{x}}',
      ),
    ).toEqual(['x']);
  });

  it('ignores text that is not a placeholder', () => {
    expect(extractParameterNames('echo { {x} } {x} {{{')).toEqual([]);
  });

  it('refuses empty, malformed, long and too many names', () => {
    expect(codeOf(() => extractParameterNames('{{}}'))).toBe('CmdParam.EmptyKey');
    expect(codeOf(() => extractParameterNames('{{a b}}'))).toBe('CmdParam.InvalidParamName');
    expect(codeOf(() => extractParameterNames('{{naïve}}'))).toBe('CmdParam.InvalidParamName');
    expect(codeOf(() => extractParameterNames(`{{${'x'.repeat(65)}}}`))).toBe('CmdParamName.ExceedLimit');
    expect(extractParameterNames(`{{${'x'.repeat(64)}}}`)).toHaveLength(1);
    const twenty = Array.from({ length: 20 }, (_, i) => `{{p${i}}}`).join('');
    expect(extractParameterNames(twenty)).toHaveLength(20);
    expect(codeOf(() => extractParameterNames(`${twenty}{{p20}}`))).toBe('CmdParamCount.ExceedLimit');
  });

  it('lists the placeholders of a script being typed without refusing any (the console asks a value for each)', () => {
    expect(placeholderNames('echo {{b}} {{ a }} {{b}} {{ACS::InstanceId}} {{oos:pw}} {{a b}} {{}}')).toEqual([
      'b',
      'a',
      'a b',
      '',
    ]);
    expect(placeholderNames('echo { {x} } {x}')).toEqual([]);
  });
});
