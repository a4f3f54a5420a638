import { describe, expect, it } from 'vitest';
import { compareVersions, isNewerVersion } from './versions.js';

describe('agent versions', () => {
  it.each([
    ['0.10.0', '0.9.3', 1],
    ['0.2.0', '0.2', 0],
    ['0.1.9', '0.2.0', -1],
    ['2.2.3.282', '2.2.3.281', 1],
    ['garbage', '0.0.1', -1],
    ['0.3.0-rc.1', '0.3.0', -1],
    ['0.3.0', '0.3.0-rc.1', 1],
    ['0.3.0-rc.1', '0.3.0-rc.2', -1],
    ['0.3.0-rc.10', '0.3.0-rc.9', 1],
    ['0.3.0-alpha', '0.3.0-alpha.1', -1],
    ['0.3.0-1', '0.3.0-alpha', -1],
    ['0.3.0-beta', '0.3.0-alpha', 1],
    ['0.3.0+build.5', '0.3.0', 0],
    ['0.3.1-rc.1', '0.3.0', 1],
    [' 1.0.0 ', '1.0.0', 0],
  ])('%s against %s is %i', (a, b, expected) => {
    expect(compareVersions(a, b)).toBe(expected);
    expect(compareVersions(b, a)).toBe(-expected || 0);
  });

  it('offers only a newer version', () => {
    expect(isNewerVersion('0.3.0', '0.2.0')).toBe(true);
    expect(isNewerVersion('0.3.0', '0.3.0')).toBe(false);
    expect(isNewerVersion('0.2.9', '0.3.0')).toBe(false);
  });
});
