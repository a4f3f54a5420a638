import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../guards.js';
import { describeTightened, privateDir } from '../private-files.js';

/**
 * Readies the state dir before the agent uses it: the state and work dirs search-only for others
 * (0711: run-as users pass through to their own script files, cannot list), every file in the
 * state dir owner-only (the identity's token, the journal's scripts and secrets), whatever the
 * umask and whatever an older version left. Script files of a previous process (a crash, a power
 * cut) may hold resolved secret parameters: they are deleted, as no run of this process has
 * started yet. Returns the work dir; says what it changed.
 */
export function prepareStateDir(stateDir: string, say: (line: string) => void): string {
  const workDir = join(stateDir, 'work');
  const changed = [...privateDir(stateDir, 0o711), ...privateDir(workDir, 0o711)];
  if (changed.length > 0) {
    say(
      `tightened permissions other local users had on the state dir: ${describeTightened(changed, stateDir)}`,
    );
  }
  const scriptsDir = join(workDir, 'scripts'); // where runner.ts writes runs' scripts
  let left: string[] = [];
  try {
    left = readdirSync(scriptsDir);
  } catch (error) {
    if (errnoCode(error) !== 'ENOENT') throw error;
  }
  for (const name of left) rmSync(join(scriptsDir, name), { recursive: true, force: true });
  if (left.length > 0) say(`removed ${left.length} script file(s) left by the last stop`);
  return workDir;
}
