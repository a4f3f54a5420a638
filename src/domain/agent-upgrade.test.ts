import { describe, expect, it } from 'vitest';
import {
  type AgentRelease,
  type AgentSelf,
  type AgentUpgradeConfig,
  defaultAgentUpgradeConfig,
  readAgentUpgradeConfig,
  shouldOfferUpgrade,
} from './agent-upgrade.js';
import { ApiError } from './errors.js';

const read = (value: unknown, stored: AgentUpgradeConfig = defaultAgentUpgradeConfig) =>
  readAgentUpgradeConfig(typeof value === 'string' ? value : JSON.stringify(value), stored);

describe('AgentUpgradeConfig as ModifyCloudAssistantSettings takes it', () => {
  it('reads every field of the SDK model', () => {
    expect(
      read({
        Enabled: true,
        AllowedUpgradeWindow: ['02:00-03:00', '23:00-01:00'],
        TimeZone: 'Asia/Shanghai',
        BootstrapUpgrade: false,
        DisableUpgrade: false,
      }),
    ).toEqual({
      enabled: true,
      allowedUpgradeWindows: ['02:00-03:00', '23:00-01:00'],
      timeZone: 'Asia/Shanghai',
      bootstrapUpgrade: false,
      disableUpgrade: false,
    });
  });

  it('keeps the stored fields a call leaves out', () => {
    const stored = read({ Enabled: true, AllowedUpgradeWindow: ['02:00-03:00'], TimeZone: 'GMT+8:00' });
    expect(read({ Enabled: false }, stored)).toEqual({ ...stored, enabled: false });
    expect(read({}, stored)).toEqual(stored);
    expect(read({ AllowedUpgradeWindow: [] }, stored).allowedUpgradeWindows).toEqual([]);
  });

  it('takes quoted booleans from a hand-written call', () => {
    expect(read({ Enabled: 'true', DisableUpgrade: 'false' })).toMatchObject({
      enabled: true,
      disableUpgrade: false,
    });
  });

  it.each<[string, unknown, string]>([
    ['not JSON', '{Enabled:true', 'JSON object'],
    ['a list', '[1]', 'JSON object'],
    ['an unknown field', { Enable: true }, 'unknown field Enable'],
    ['a number for Enabled', { Enabled: 1 }, 'Enabled must be true or false'],
    ['a window without minutes', { AllowedUpgradeWindow: ['2-3'] }, 'is not "HH:mm-HH:mm"'],
    ['a window of numbers', { AllowedUpgradeWindow: [200] }, 'is not "HH:mm-HH:mm"'],
    ['a window shorter than an hour', { AllowedUpgradeWindow: ['02:00-02:30'] }, 'shorter than 60 minutes'],
    ['a window string instead of a list', { AllowedUpgradeWindow: '02:00-03:00' }, 'must be a list'],
    ['25 windows', { AllowedUpgradeWindow: Array(25).fill('02:00-03:00') }, 'at most 24'],
    ['a zone with a leading zero', { TimeZone: 'GMT+08:00' }, 'leading zero'],
    ['an unknown zone', { TimeZone: 'Mars/Olympus' }, 'unknown time zone'],
    ['a zone that is not text', { TimeZone: 8 }, 'unknown time zone'],
  ])('refuses %s with InvalidParameter', (_case, value, why) => {
    let caught: unknown;
    try {
      read(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ApiError);
    expect((caught as ApiError).code).toBe('InvalidParameter');
    expect((caught as ApiError).status).toBe(400);
    expect((caught as ApiError).message).toContain(why);
  });
});

describe('which agents are offered the server executable', () => {
  const enabled: AgentUpgradeConfig = { ...defaultAgentUpgradeConfig, enabled: true };
  const release: AgentRelease = {
    version: '0.3.0',
    file: 'openassist-agent-linux-x64',
    sha256: 'a'.repeat(64),
    sizeBytes: 1,
  };
  const old: AgentSelf = { version: '0.2.0', osType: 'linux', arch: 'x64' };

  it.each<[string, AgentUpgradeConfig, AgentSelf, AgentRelease | undefined, 'hello' | 'periodic', boolean]>([
    ['an older agent, enabled', enabled, old, release, 'hello', true],
    ['not enabled (the default)', defaultAgentUpgradeConfig, old, release, 'periodic', false],
    ['enabled but DisableUpgrade', { ...enabled, disableUpgrade: true }, old, release, 'periodic', false],
    [
      'BootstrapUpgrade off: not on hello',
      { ...enabled, bootstrapUpgrade: false },
      old,
      release,
      'hello',
      false,
    ],
    [
      'BootstrapUpgrade off: periodic',
      { ...enabled, bootstrapUpgrade: false },
      old,
      release,
      'periodic',
      true,
    ],
    ['the same version', enabled, { ...old, version: '0.3.0' }, release, 'periodic', false],
    ['a newer agent', enabled, { ...old, version: '0.4.0' }, release, 'periodic', false],
    ['an agent that did not say its arch', enabled, { ...old, arch: undefined }, release, 'periodic', false],
    ['no executable for its arch', enabled, old, undefined, 'periodic', false],
    ['a Windows agent', enabled, { ...old, osType: 'windows' }, release, 'periodic', false],
  ])('%s', (_case, config, agent, offered, trigger, expected) => {
    expect(shouldOfferUpgrade(config, agent, offered, trigger)).toBe(expected);
  });
});
