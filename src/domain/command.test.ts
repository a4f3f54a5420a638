import { describe, expect, it } from 'vitest';
import { errorCodeOf } from '../../test/helpers/error-code.js';
import { type CreateCommandInput, validateCreateCommand } from './command.js';
import { fromBase64, parseContentEncoding, toBase64 } from './content.js';
import { ApiError } from './errors.js';

const valid: CreateCommandInput = {
  name: 'n',
  type: 'RunShellScript',
  content: 'ZWNobyBoaQ==',
  contentEncoding: 'Base64',
  tags: [],
};

const codeOf = (input: Partial<CreateCommandInput>) =>
  errorCodeOf(() => validateCreateCommand({ ...valid, ...input }));

describe('CreateCommand rules', () => {
  it('fills the documented defaults', () => {
    expect(validateCreateCommand(valid)).toEqual({
      name: 'n',
      description: '',
      type: 'RunShellScript',
      contentBase64: 'ZWNobyBoaQ==',
      workingDir: '',
      timeoutSeconds: 60,
      enableParameter: false,
      parameterNames: [],
      launcher: '',
      resourceGroupId: '',
      clientToken: '',
      tags: [],
    });
  });

  it('checks required fields before shapes', () => {
    expect(codeOf({ name: undefined, type: 'bad' })).toBe('MissingParameter');
    expect(codeOf({ content: undefined })).toBe('MissingParameter');
    expect(codeOf({ content: '' })).toBe('MissingParameter');
  });

  it('applies the limits at their exact boundaries', () => {
    expect(codeOf({ name: 'n'.repeat(128) })).toBeUndefined();
    expect(codeOf({ name: 'n'.repeat(129) })).toBe('CmdName.ExceedLimit');
    expect(codeOf({ description: 'd'.repeat(512) })).toBeUndefined();
    expect(codeOf({ description: 'd'.repeat(513) })).toBe('CmdDesc.ExceedLimit');
    expect(codeOf({ workingDir: 'w'.repeat(200) })).toBeUndefined();
    expect(codeOf({ workingDir: 'w'.repeat(201) })).toBe('InvalidParameter.WorkingDir');
    expect(codeOf({ launcher: 'l'.repeat(1024) })).toBeUndefined();
    expect(codeOf({ launcher: 'é'.repeat(513) })).toBe('InvalidLauncher.LengthLimitExceeded');
    expect(codeOf({ timeoutSeconds: 10 })).toBeUndefined();
    expect(codeOf({ timeoutSeconds: 9 })).toBe('InvalidParameter.Timeout');
    expect(codeOf({ timeoutSeconds: 86_400 })).toBeUndefined();
    expect(codeOf({ timeoutSeconds: 86_401 })).toBe('InvalidTimeout.ExceedLimit');
    expect(codeOf({ clientToken: 't'.repeat(64) })).toBeUndefined();
    expect(codeOf({ clientToken: 't'.repeat(65) })).toBe('InvalidClientToken.Malformed');
  });

  it('limits content to 24 KB after Base64', () => {
    const atLimit = 'A'.repeat(24 * 1024);
    expect(codeOf({ content: atLimit })).toBeUndefined();
    expect(codeOf({ content: `${atLimit}AAAA` })).toBe('CmdContent.ExceedLimit');
    expect(codeOf({ content: 'x'.repeat(18_433), contentEncoding: 'PlainText' })).toBe(
      'CmdContent.ExceedLimit',
    );
  });

  it('extracts parameter names only when EnableParameter is set', () => {
    const content = Buffer.from('echo {{who}}').toString('base64');
    expect(validateCreateCommand({ ...valid, content }).parameterNames).toEqual([]);
    expect(validateCreateCommand({ ...valid, content, enableParameter: true }).parameterNames).toEqual([
      'who',
    ]);
  });
});

describe('content encoding', () => {
  it('reads PlainText and Base64 in any case, and refuses others', () => {
    expect(parseContentEncoding('plaintext', 'Base64')).toBe('PlainText');
    expect(parseContentEncoding('BASE64', 'PlainText')).toBe('Base64');
    expect(parseContentEncoding(undefined, 'PlainText')).toBe('PlainText');
    expect(() => parseContentEncoding('hex', 'Base64')).toThrow(ApiError);
  });

  it('accepts strict Base64 only', () => {
    for (const bad of ['abc', 'ab=c', 'a===', 'ab$d', 'YQ', 'YQ==YQ==']) {
      expect(() => toBase64(bad, 'Base64'), bad).toThrow(ApiError);
    }
    expect(toBase64('YQ==', 'Base64')).toBe('YQ==');
    expect(toBase64('héllo', 'PlainText')).toBe(Buffer.from('héllo').toString('base64'));
    expect(fromBase64(toBase64('héllo', 'PlainText'), 'PlainText')).toBe('héllo');
  });
});
