import { describe, expect, it } from 'vitest';
import { allows, parsePolicy } from './policy.js';

const document = (...statements: unknown[]) => JSON.stringify({ Version: '1', Statement: statements });

describe('access key policies', () => {
  it('allows what an Allow matches, with wildcards and in any case', () => {
    const policy = parsePolicy(
      document({ Effect: 'Allow', Action: ['ecs:Describe*', 'ecs:InvokeCommand', 'oos:Get?arameter'] }),
    );
    expect(allows(policy, 'ecs', 'DescribeInvocations')).toBe(true);
    expect(allows(policy, 'ecs', 'invokecommand')).toBe(true);
    expect(allows(policy, 'oos', 'GetParameter')).toBe(true);
    expect(allows(policy, 'ecs', 'RunCommand')).toBe(false);
    expect(allows(policy, 'ram', 'DescribeThings')).toBe(false);
  });

  it('lets a matching Deny win over any Allow', () => {
    const policy = parsePolicy(
      document(
        { Effect: 'Allow', Action: '*' },
        { Effect: 'Deny', Action: ['ecs:Delete*', 'ecs:StopInvocation'] },
      ),
    );
    expect(allows(policy, 'ecs', 'RunCommand')).toBe(true);
    expect(allows(policy, 'ecs', 'DeleteCommand')).toBe(false);
    expect(allows(policy, 'ecs', 'StopInvocation')).toBe(false);
  });

  it('refuses documents that are not of the documented shape', () => {
    for (const bad of [
      'not json',
      '{}',
      document(),
      document({ Effect: 'Maybe', Action: '*' }),
      document({ Effect: 'Allow', Action: [] }),
      document({ Effect: 'Allow', Action: 'InvokeCommand' }),
      document({ Effect: 'Allow', Action: 'ecs:(.*)' }),
      document({ Effect: 'Allow', Action: '*', Resource: 'acs:ecs:*:*:instance/*' }),
      document(...Array.from({ length: 21 }, () => ({ Effect: 'Allow', Action: '*' }))),
      'x'.repeat(3000),
    ]) {
      expect(() => parsePolicy(bad), bad.slice(0, 80)).toThrow(
        expect.objectContaining({ code: 'MalformedPolicyDocument' }),
      );
    }
  });
});
