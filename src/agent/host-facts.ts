import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { delimiter, join } from 'node:path';
import type { AgentSettings } from '../config.js';

/** What the agent reports about its machine in the hello. */
export interface HostFacts {
  readonly osType: 'linux' | 'windows';
  readonly hostname: string;
  readonly osVersion: string;
  readonly timeZone: string;
  readonly shells: string[];
  readonly machineId: string;
}

const readTrimmed = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
};

/** The boot id changes at every boot; tests point OPENASSIST_AGENT_BOOT_ID_FILE elsewhere to simulate reboots. */
export const readBootId = (file = '/proc/sys/kernel/random/boot_id'): string => readTrimmed(file);

function osVersion(): string {
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readTrimmed('/etc/os-release'))?.[1];
  return pretty ? `${pretty} (kernel ${release()})` : `Linux ${release()}`;
}

function shells(searchPath: string): string[] {
  if (process.platform === 'win32') return ['cmd', 'powershell'];
  const found = ['/bin/bash', '/bin/sh']
    .filter((path) => existsSync(path))
    .map((path) => path.split('/').pop() ?? path);
  const dirs = searchPath.split(delimiter).filter(Boolean);
  if (dirs.some((dir) => existsSync(join(dir, 'pwsh')))) found.push('pwsh');
  return found;
}

/**
 * The machine's IANA zone, read where the C library reads it (TZ, then /etc/localtime's link), so
 * an idle agent never loads the ICU data Intl pulls in (about 8 MiB of its memory); Intl last.
 * Without the file the C library keeps time in UTC, and so does the agent (minimal roots have none).
 * `timeZoneVariable` is TZ (AgentSettings.timeZoneVariable).
 */
export function localTimeZone(timeZoneVariable: string | undefined, localtime = '/etc/localtime'): string {
  const fromEnv = timeZoneVariable?.replace(/^:/, '');
  if (fromEnv && !fromEnv.startsWith('/')) return fromEnv;
  try {
    const target = readlinkSync(fromEnv || localtime);
    const at = target.indexOf('zoneinfo/');
    if (at >= 0) return target.slice(at + 'zoneinfo/'.length);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return 'UTC';
    // not a link: fall through
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** `searchPath` is the agent's PATH, where PowerShell (pwsh) would be found; `timeZoneVariable` its TZ. */
export function hostFacts({
  searchPath,
  timeZoneVariable,
}: Pick<AgentSettings, 'searchPath' | 'timeZoneVariable'>): HostFacts {
  return {
    osType: process.platform === 'win32' ? 'windows' : 'linux',
    hostname: hostname(),
    osVersion: osVersion(),
    timeZone: localTimeZone(timeZoneVariable),
    shells: shells(searchPath),
    machineId: readTrimmed('/etc/machine-id'),
  };
}
