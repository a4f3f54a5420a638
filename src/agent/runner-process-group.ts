import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { errnoCode } from '../guards.js';

// Short enough that a run ends soon after its tree dies; each poll is a single kill(2).
const groupPollMs = 25;

/** Waits for the killed group to empty, sending SIGKILL when the grace period runs out first. */
export async function reapGroup(pgid: number, deadlineMs: number): Promise<void> {
  while (isGroupAlive(pgid)) {
    if (Date.now() >= deadlineMs) return signal(-pgid, 'SIGKILL');
    await delay(groupPollMs);
  }
}

function isGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === 'EPERM';
  }
}

export function signal(target: number, name: NodeJS.Signals): void {
  // 0, 1 and -1 name no single process or group of ours: this process's group, init, everything.
  if (Math.abs(target) <= 1) return;
  try {
    process.kill(target, name);
  } catch {
    // Already gone (ESRCH): nothing left to stop.
  }
}

/** Reads what is left in the pipes, then closes them even if a background child still holds them. */
export async function drain(streams: Readable[], waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  const ended = Promise.all(streams.map((stream) => finished(stream).catch(() => undefined)));
  await Promise.race([ended, expired]);
  clearTimeout(timer);
  for (const stream of streams) stream.destroy();
}
