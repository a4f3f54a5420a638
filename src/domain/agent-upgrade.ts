import { ApiError } from './errors.js';
import { readSettingObject } from './setting-json.js';
import { explainZone, parseZone } from './time-zone.js';
import { maxWindows, minimumWindowMinutes, parseWindow, windowMinutes } from './upgrade-window.js';
import { isNewerVersion } from './versions.js';

/**
 * ModifyCloudAssistantSettings' `AgentUpgradeConfig` (the SDK's model, JSON on the wire): whether
 * agents upgrade themselves to the server's executable, and when.
 *
 * Alibaba's `Enabled=false` keeps its default (agents try to upgrade every 30 minutes, at any
 * time); here it means no upgrade at all: a self-hosted server changes no machine until its
 * operator says so. `DisableUpgrade=true` stops upgrades even when enabled. `BootstrapUpgrade`
 * (default true) lets an agent be offered the upgrade as soon as it connects; false waits for the
 * periodic check or a change of the setting.
 */
export interface AgentUpgradeConfig {
  readonly enabled: boolean;
  /** `HH:mm-HH:mm` wall-clock ranges in `timeZone`; none: any time of day. */
  readonly allowedUpgradeWindows: readonly string[];
  /** An IANA name, `GMT+8:00`, or `UTC` (the default). */
  readonly timeZone: string;
  readonly bootstrapUpgrade: boolean;
  readonly disableUpgrade: boolean;
}

export const defaultAgentUpgradeConfig: AgentUpgradeConfig = Object.freeze({
  enabled: false,
  allowedUpgradeWindows: [],
  timeZone: 'UTC',
  bootstrapUpgrade: true,
  disableUpgrade: false,
});

const wireField = 'AgentUpgradeConfig';
const invalid = (why: string) => new ApiError('InvalidParameter', `${wireField}: ${why}`);
const fields = ['Enabled', 'AllowedUpgradeWindow', 'TimeZone', 'BootstrapUpgrade', 'DisableUpgrade'];

function readBoolean(value: unknown, name: string): boolean {
  // The SDK sends JSON booleans; a hand-written call may quote them.
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw invalid(`${name} must be true or false.`);
}

function readWindows(value: unknown): string[] {
  if (!Array.isArray(value) || value.length > maxWindows) {
    throw invalid(`AllowedUpgradeWindow must be a list of at most ${maxWindows} "HH:mm-HH:mm" windows.`);
  }
  return value.map((text: unknown) => {
    const window = typeof text === 'string' ? parseWindow(text) : undefined;
    if (typeof text !== 'string' || !window)
      throw invalid(`the window ${JSON.stringify(text)?.slice(0, 40)} is not "HH:mm-HH:mm".`);
    if (windowMinutes(window) < minimumWindowMinutes) {
      throw invalid(`the window ${text} is shorter than ${minimumWindowMinutes} minutes.`);
    }
    return text;
  });
}

/**
 * Reads the `AgentUpgradeConfig` JSON of a ModifyCloudAssistantSettings call over the stored
 * config: the fields given replace the stored ones, the others are kept.
 */
export function readAgentUpgradeConfig(text: string, stored: AgentUpgradeConfig): AgentUpgradeConfig {
  const given = readSettingObject(wireField, text, fields);
  let timeZone = stored.timeZone;
  if (given.TimeZone !== undefined) {
    if (typeof given.TimeZone !== 'string' || !parseZone(given.TimeZone)) {
      throw invalid(`${explainZone(String(given.TimeZone).slice(0, 64))}.`);
    }
    timeZone = given.TimeZone;
  }
  return {
    enabled: given.Enabled === undefined ? stored.enabled : readBoolean(given.Enabled, 'Enabled'),
    allowedUpgradeWindows:
      given.AllowedUpgradeWindow === undefined
        ? stored.allowedUpgradeWindows
        : readWindows(given.AllowedUpgradeWindow),
    timeZone,
    bootstrapUpgrade:
      given.BootstrapUpgrade === undefined
        ? stored.bootstrapUpgrade
        : readBoolean(given.BootstrapUpgrade, 'BootstrapUpgrade'),
    disableUpgrade:
      given.DisableUpgrade === undefined
        ? stored.disableUpgrade
        : readBoolean(given.DisableUpgrade, 'DisableUpgrade'),
  };
}

/** The executable the server holds for one architecture. */
export interface AgentRelease {
  readonly version: string;
  /** Its file name under `/agent/download/`. */
  readonly file: string;
  readonly sha256: string;
  readonly sizeBytes: number;
}

/** What a connected agent said about itself in its hello. */
export interface AgentSelf {
  readonly version: string;
  readonly osType: 'linux' | 'windows';
  /** `process.arch`; absent from agents older than self-upgrade, which are never offered one. */
  readonly arch: string | undefined;
}

/** Why the server looks: an agent said hello, the setting changed, or the periodic check. */
export type OfferTrigger = 'hello' | 'changed' | 'periodic';

/**
 * Whether an agent is offered the server's executable: enabled and not disabled, a Linux agent
 * that said its architecture, an executable for it, and a version newer than the agent's.
 */
export function shouldOfferUpgrade(
  config: AgentUpgradeConfig,
  agent: AgentSelf,
  release: AgentRelease | undefined,
  trigger: OfferTrigger,
): release is AgentRelease {
  if (!config.enabled || config.disableUpgrade) return false;
  if (trigger === 'hello' && !config.bootstrapUpgrade) return false;
  if (agent.osType !== 'linux' || agent.arch === undefined || release === undefined) return false;
  return isNewerVersion(release.version, agent.version);
}
