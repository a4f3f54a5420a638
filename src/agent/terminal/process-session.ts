import { readdir, readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { signal } from '../runner-process-group.js';

/** How often a kill looks whether the session's processes are gone. */
const pollMs = 100;

/**
 * The session id and state in one /proc/<pid>/stat text. The command name (field 2, in
 * parentheses) may itself hold spaces and parentheses, so the fields are counted after the last
 * ')': state (3), ppid (4), process group (5), session (6).
 */
export function parseStat(stat: string): { state: string; sessionId: number } | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const [state, , , session] = stat.slice(close + 2).split(' ');
  if (state === undefined || session === undefined || !/^\d+$/.test(session)) return undefined;
  return { state, sessionId: Number(session) };
}

/** The live (not zombie) processes whose session id is one of `sessionIds`. */
export async function sessionMembers(sessionIds: ReadonlySet<number>): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = parseStat(await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''));
    if (stat && sessionIds.has(stat.sessionId) && stat.state !== 'Z' && stat.state !== 'X') {
      members.push(Number(entry));
    }
  }
  return members;
}

/**
 * Ends every process of these sessions, as a hang-up would and more: SIGHUP (with SIGCONT, so a
 * stopped job gets it now), then SIGKILL for whatever is left after `graceMs` (a `nohup` job).
 * Each look during the grace hangs up the processes forked since the last one (a profile's helper
 * started as the shell went): killed without a hang-up, such a helper leaves its lock files behind.
 * Linux does not reuse a pid while it names a live session, so a later look finds no stranger.
 */
export async function killSessions(sessionIds: readonly number[], graceMs: number): Promise<void> {
  // 0 and 1 are never a shell's session: the kernel's and init's.
  const ids = new Set(sessionIds.filter((id) => id > 1));
  if (ids.size === 0) return;
  const hungUp = new Set<number>();
  const hangUp = (pids: readonly number[]) => {
    for (const pid of pids) {
      if (hungUp.has(pid)) continue;
      hungUp.add(pid);
      signal(pid, 'SIGHUP');
      signal(pid, 'SIGCONT');
    }
  };
  let members = await sessionMembers(ids);
  hangUp(members);
  const deadlineMs = Date.now() + graceMs;
  while (members.length > 0 && Date.now() < deadlineMs) {
    await delay(pollMs);
    members = await sessionMembers(ids);
    hangUp(members);
  }
  for (const pid of members) signal(pid, 'SIGKILL');
}
