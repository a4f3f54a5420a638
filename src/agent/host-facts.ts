import { existsSync, readFileSync } from 'node:fs';
import { hostname, release } from 'node:os';
import { delimiter, join } from 'node:path';

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

/** `searchPath` is the agent's PATH, where PowerShell (pwsh) would be found. */
export function hostFacts(searchPath: string): HostFacts {
  return {
    osType: process.platform === 'win32' ? 'windows' : 'linux',
    hostname: hostname(),
    osVersion: osVersion(),
    timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    shells: shells(searchPath),
    machineId: readTrimmed('/etc/machine-id'),
  };
}
