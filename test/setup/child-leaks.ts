import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * After the whole run, no process a test started may still be alive. A process counts as the
 * tests' when its parent chain reaches this (the vitest main) process, or when it carries the
 * run's mark in its environment: a child whose test worker already exited is re-parented away,
 * but it keeps the environment it inherited. Vitest's own workers are not counted.
 */
const markName = 'OPENASSIST_TEST_RUN_MARK';
const graceMs = 5_000;

interface Leak {
  readonly pid: number;
  readonly command: string;
}

export function setup(): () => Promise<void> {
  const mark = `${markName}=${randomBytes(8).toString('hex')}`;
  process.env[markName] = mark.slice(markName.length + 1);
  return async () => {
    const deadline = Date.now() + graceMs;
    let leaks = leftBehind(mark);
    while (leaks.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      leaks = leftBehind(mark);
    }
    if (leaks.length > 0) {
      const list = leaks.map((leak) => `  ${leak.pid}: ${leak.command}`).join('\n');
      // Vitest only logs an error thrown at close; the exit status must say it too.
      process.exitCode = 1;
      throw new Error(`processes started by the tests are still alive after the run:\n${list}`);
    }
  };
}

function leftBehind(mark: string): Leak[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readOrEmpty(`/proc/${pid}/stat`);
    // The command name in parentheses may hold spaces and parentheses: fields follow the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === undefined || fields[0] === 'Z' || fields[0] === 'X') continue;
    parents.set(pid, Number(fields[1]));
  }
  const leaks: Leak[] = [];
  for (const pid of parents.keys()) {
    if (pid === process.pid) continue;
    const ours =
      descendsFromUs(pid, parents) || readOrEmpty(`/proc/${pid}/environ`).split('\0').includes(mark);
    if (!ours) continue;
    const command = readOrEmpty(`/proc/${pid}/cmdline`).split('\0').join(' ').trim();
    if (command === '' || isVitestWorker(command)) continue;
    leaks.push({ pid, command });
  }
  return leaks;
}

function descendsFromUs(pid: number, parents: ReadonlyMap<number, number>): boolean {
  // Bounded walk: a pid table changing under us must not loop forever.
  let at = parents.get(pid);
  for (let hops = 0; at !== undefined && at > 1 && hops < 64; hops++) {
    if (at === process.pid) return true;
    at = parents.get(at);
  }
  return false;
}

const isVitestWorker = (command: string): boolean => /[/\\]vitest[/\\]dist[/\\]/.test(command);

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // gone meanwhile, or not ours to read
  }
}
