import { describe, expect, it } from 'vitest';
import { maskedArgs } from './hide-argument.js';

describe('maskedArgs', () => {
  it('masks the value of a flag in both forms and leaves everything else', () => {
    expect(
      maskedArgs(['node', 'bin', 'agent', '--activation-code', 'a-secret', '--x', 'y'], '--activation-code'),
    ).toEqual(['node', 'bin', 'agent', '--activation-code', '***', '--x', 'y']);
    expect(maskedArgs(['node', '--activation-code=a-secret'], '--activation-code')).toEqual([
      'node',
      '--activation-code=***',
    ]);
    expect(maskedArgs(['node', '--activation-code-file', 'f'], '--activation-code')).toEqual([
      'node',
      '--activation-code-file',
      'f',
    ]);
  });
});
