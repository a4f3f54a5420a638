import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The run gets an empty home of its own. A terminal session runs the agent's user's login shell,
 * which reads that home's dotfiles: the machine user's may be slow or take locks (a version
 * manager's init rehashing under a lock file), and the tests must not depend on them. Nothing a
 * test writes under ~ lands in the real home either.
 */
export function setup(): () => void {
  const home = mkdtempSync(join(tmpdir(), 'openassist-test-home-'));
  process.env.HOME = home;
  return () => rmSync(home, { recursive: true, force: true });
}
