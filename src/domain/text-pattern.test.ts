import { describe, expect, it } from 'vitest';
import { matchesPattern, textPattern } from './text-pattern.js';

const matches = (text: string, value: string, fold: 'always' | 'withWildcards' = 'withWildcards') =>
  matchesPattern(text, textPattern(value, fold));

describe('text patterns', () => {
  it('is an exact match without a wildcard, unless told to fold case', () => {
    expect(textPattern('deploy', 'withWildcards')).toEqual({ exact: 'deploy' });
    expect(matches('deploy', 'deploy')).toBe(true);
    expect(matches('Deploy', 'deploy')).toBe(false);
    expect(matches('deploy-app', 'deploy')).toBe(false);
    expect(textPattern('Rotate logs', 'always')).toEqual({ folded: ['Rotate logs'] });
    expect(matches('ROTATE LOGS', 'rotate logs', 'always')).toBe(true);
    expect(matches('rotate logs weekly', 'rotate logs', 'always')).toBe(false);
  });

  it('reads * as any run of characters: prefix, suffix, contains, and between parts', () => {
    expect(textPattern('cmd*', 'withWildcards')).toEqual({ folded: ['cmd', ''] });
    expect(matches('command-1', 'command*')).toBe(true);
    expect(matches('my-command', 'command*')).toBe(false);
    expect(matches('my-command', '*command')).toBe(true);
    expect(matches('command-1', '*command')).toBe(false);
    expect(matches('a-command-b', '*command*')).toBe(true);
    expect(matches('command', '*command*')).toBe(true);
    expect(matches('deploy-web-prod', 'deploy*prod')).toBe(true);
    expect(matches('deploy-prod-web', 'deploy*prod')).toBe(false);
    expect(matches('anything', '*')).toBe(true);
    expect(matches('', '*')).toBe(true);
  });

  it('does not let parts overlap', () => {
    expect(matches('ab', 'ab*b')).toBe(false);
    expect(matches('abb', 'ab*b')).toBe(true);
    expect(matches('aXa', 'a*a*a')).toBe(false);
    expect(matches('aaa', 'a*a*a')).toBe(true);
  });

  it('folds ASCII case when searching, and treats SQL wildcards as text', () => {
    expect(matches('Deploy-App', 'deploy*')).toBe(true);
    expect(matches('100%', '*%')).toBe(true);
    expect(matches('1000', '*%')).toBe(false);
    expect(matches('a_b', 'a_*')).toBe(true);
    expect(matches('axb', 'a_*')).toBe(false);
  });
});
