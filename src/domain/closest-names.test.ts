import { describe, expect, it } from 'vitest';
import { closestNames } from './closest-names.js';

const actions = [
  'DescribeInvocations',
  'DescribeInvocationResults',
  'DescribeInstances',
  'RunCommand',
  'InvokeCommand',
  'StopInvocation',
];

describe('closestNames (the "did you mean" of an unknown action)', () => {
  it('suggests a plural, a typo, the wrong case, and a prefix, best first', () => {
    expect(closestNames('DescribeInvocation', actions)).toEqual([
      'DescribeInvocations',
      'DescribeInvocationResults',
    ]);
    expect(closestNames('RunComand', actions)).toEqual(['RunCommand']);
    expect(closestNames('runcommand', actions)).toEqual(['RunCommand']);
    expect(closestNames('DescribeInvocationRes', actions)[0]).toBe('DescribeInvocationResults');
  });

  it('suggests nothing for a name like none, an empty one or an absurdly long one', () => {
    expect(closestNames('DeleteEverything', actions)).toEqual([]);
    expect(closestNames('', actions)).toEqual([]);
    expect(closestNames('x'.repeat(200), actions)).toEqual([]);
  });
});
