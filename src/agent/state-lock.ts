import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { errnoCode } from '../guards.js';
import { AgentError } from './identity.js';
import { writeWhole } from './journal-write.js';

/**
 * One agent per state dir: two would take the same tasks from one journal and run them twice. The
 * lock is a file created exclusively (`agent.lock`, owner-only) naming its holder; a holder that is
 * gone (a crash, a power cut) leaves it behind, and the next agent takes it over.
 */
export const lockPath = (stateDir: string): string => join(stateDir, 'agent.lock');

interface Holder {
  readonly pid: number;
  /** The process's start time (Linux: /proc/PID/stat), so a later process reusing the pid is not taken for it. */
  readonly started: string | undefined;
  readonly bootId: string;
  readonly sinceMs: number;
}

/** Locks this process holds: another agent in it on the same dir is refused like one elsewhere. */
const heldHere = new Set<string>();
// A lock file this young and still empty is being written by its creator.
const writingGraceMs = 5_000;

function processStarted(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); the command name before it, in parentheses, may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    // An agent's own lock file (lock() below writes it): only the pid decides whether it names a
    // process; refusing a lock over another field would let a second agent in beside a live one.
    const holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    return Number.isSafeInteger(holder.pid) ? holder : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the process named in the lock still runs. */
function alive(path: string, holder: Holder | undefined, bootId: string): boolean {
  if (heldHere.has(path)) return true;
  if (!holder) {
    try {
      return Date.now() - statSync(path).mtimeMs < writingGraceMs;
    } catch {
      return false;
    }
  }
  if (holder.bootId && bootId && holder.bootId !== bootId) return false;
  // Our own pid, and not held here: a previous life of this process's pid (a container's pid 1).
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if (errnoCode(error) === 'ESRCH') return false;
  }
  const started = processStarted(holder.pid);
  return !(holder.started && started && holder.started !== started);
}

/** Moves a stale lock away, unless another agent replaced it meanwhile (then it is put back). */
function takeOver(path: string, stale: string): void {
  const moved = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, moved);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  let content = '';
  try {
    content = readFileSync(moved, 'utf8');
  } catch {
    // gone: nothing to put back
  }
  if (content !== stale) {
    try {
      linkSync(moved, path);
    } catch {
      // a third agent took it meanwhile: its lock stands
    }
  }
  unlinkSync(moved);
}

/**
 * Takes the state dir's lock before anything in it changes; throws AgentError naming the agent
 * that holds it. Returns the release, which removes the lock if it is still this agent's.
 */
export function lockStateDir(stateDir: string, bootId: string): () => void {
  mkdirSync(stateDir, { recursive: true, mode: 0o711 });
  const path = lockPath(stateDir);
  const mine: Holder = {
    pid: process.pid,
    started: processStarted(process.pid),
    bootId,
    sinceMs: Date.now(),
  };
  const text = JSON.stringify(mine);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
      let stale = '';
      try {
        stale = readFileSync(path, 'utf8');
      } catch {
        continue; // released meanwhile
      }
      const holder = readHolder(path);
      if (alive(path, holder, bootId)) {
        const who = holder
          ? `pid ${holder.pid}, since ${new Date(holder.sinceMs).toISOString()}`
          : 'starting right now';
        throw new AgentError(
          `another agent (${who}) uses the state dir ${stateDir}: stop it first; two agents on one state dir ` +
            `would run its tasks twice (the lock is ${path})`,
        );
      }
      takeOver(path, stale);
      continue;
    }
    try {
      writeWhole(fd, Buffer.from(text));
    } finally {
      closeSync(fd);
    }
    heldHere.add(path);
    return () => {
      heldHere.delete(path);
      try {
        if (readFileSync(path, 'utf8') === text) unlinkSync(path);
      } catch {
        // already gone
      }
    };
  }
  throw new AgentError(`cannot take the lock ${path}: other agents keep replacing it`);
}
