import { describe, expect, it } from 'vitest';
import { compareVersions, minimumAgentVersion, upgradeNeeded } from './agent-features.js';

describe('agent version gate', () => {
  it('compares dotted versions part by part, as numbers', () => {
    expect(compareVersions('0.10.0', '0.9.3')).toBe(1);
    expect(compareVersions('0.2.0', '0.2')).toBe(0);
    expect(compareVersions('0.1.9', '0.2.0')).toBe(-1);
    expect(compareVersions('2.2.3.282', '2.2.3.281')).toBe(1);
    expect(compareVersions('garbage', '0.0.1')).toBe(-1);
  });

  it('asks for an upgrade only for features newer than the agent', () => {
    expect(upgradeNeeded(['Period'], '0.1.0')).toBe(minimumAgentVersion.Period);
    expect(upgradeNeeded(['EveryReboot'], '0.1.5')).toBe(minimumAgentVersion.EveryReboot);
    expect(upgradeNeeded(['Period'], minimumAgentVersion.Period)).toBeUndefined();
    expect(upgradeNeeded(['Once'], '0.0.1')).toBeUndefined();
    // The newest requirement decides.
    expect(upgradeNeeded(['Period', 'containers'], '0.1.0')).toBe(minimumAgentVersion.containers);
    expect(upgradeNeeded(['Period', 'containers'], '0.2.0')).toBe(minimumAgentVersion.containers);
    // File tasks: an older agent would run their empty script and call it a Success.
    expect(upgradeNeeded(['files'], '0.3.0')).toBe('0.4.0');
    expect(upgradeNeeded(['files'], '0.4.0')).toBeUndefined();
  });
});
