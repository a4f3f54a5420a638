import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { bashPrelude, firstExecutable, loginEnv, preludeFile, scriptFdPath } from './runner.js';
import { signal } from './runner-process-group.js';
import { currentUser } from './users.js';

/**
 * A shell started ahead of its script: up and blocked on its go (fd 3), its script file open but
 * still empty (fd 4, already unlinked), as on the normal path otherwise. Started as the agent's own
 * user, with the login environment of a run without `Username`, in `cwd`.
 */
export interface WarmShell {
  readonly child: ChildProcess;
  /** Resolves once the process is spawned (its 'spawn' event). */
  readonly spawned: Promise<unknown>;
  readonly cwd: string;
  /** The agent's descriptor of the script file; closed once the script is written. */
  file: number | undefined;
}

// An idle shell costs a process and a few MiB, no CPU (it is blocked in read(2)); after this long
// unused it goes, so an agent that runs nothing for a while holds none.
export const defaultWarmIdleMs = 30_000;

/**
 * At most one pre-started shell, for runs as the agent's own user in its home: such a run skips
 * the fork/exec and the shell's start-up. Refilled after each such run, killed after `idleMs` unused
 * and on close.
 */
export class WarmShells {
  private idle: WarmShell | undefined;
  private starting = false;
  private closed = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly start: () => Promise<WarmShell | undefined>,
    private readonly idleMs = defaultWarmIdleMs,
  ) {}

  /**
   * The idle shell with `script` written to it, when it is alive and its working directory is
   * `cwd` itself (the same directory, not only the same name: one removed and made again since is
   * not); else undefined, and the caller starts a shell of its own. A shell started elsewhere stays
   * idle. Attach to the shell in the same turn of the event loop (its 'exit' must not be missed).
   */
  take(cwd: string, script: string): WarmShell | undefined {
    const shell = this.idle;
    if (!shell || shell.cwd !== cwd) return undefined;
    this.idle = undefined;
    clearTimeout(this.idleTimer);
    const { child } = shell;
    const alive = child.exitCode === null && child.signalCode === null;
    if (alive && sameDir(child, cwd) && feed(shell, script)) return shell;
    kill(shell);
    return undefined;
  }

  /** The idle shell's pid, if one is idle (for tests and diagnostics). */
  get idlePid(): number | undefined {
    return this.idle?.child.pid;
  }

  /** Starts a shell unless one is idle or starting; it goes after `idleMs` unused. Resolves once done. */
  refill(): Promise<void> {
    if (this.closed || this.idle || this.starting) return Promise.resolve();
    this.starting = true;
    return this.start()
      .then((shell) => {
        if (!shell) return;
        if (this.closed) return kill(shell);
        this.idle = shell;
        this.idleTimer = setTimeout(() => this.discard(), this.idleMs);
        this.idleTimer.unref();
      })
      .catch(() => undefined) // no shell ahead this time: runs take the normal path
      .finally(() => {
        this.starting = false;
      });
  }

  /** Kills the idle shell; none is started any more. */
  close(): void {
    this.closed = true;
    this.discard();
  }

  private discard(): void {
    const shell = this.idle;
    this.idle = undefined;
    clearTimeout(this.idleTimer);
    if (shell) kill(shell);
  }
}

let fileCount = 0;

export interface WarmShellOptions {
  readonly idleMs?: number;
  /** Where the shells start (default: the agent user's home, where runs without WorkingDir run). */
  readonly cwd?: string;
}

/** Shells started ahead for runs as the agent's own user, with `workDir` the agent's. */
export function warmShellsFor(workDir: string, options: WarmShellOptions = {}): WarmShells {
  return new WarmShells(() => startWarmShell(workDir, options.cwd), options.idleMs);
}

async function startWarmShell(workDir: string, cwd?: string): Promise<WarmShell | undefined> {
  // bash alone: with sh the script's own shell would start only after the go, saving nothing.
  const bash = await firstExecutable(['/bin/bash']);
  if (!bash) return undefined;
  const user = currentUser();
  const env = { ...loginEnv(user), BASH_ENV: await preludeFile(workDir, 'prelude.bash', bashPrelude) };
  // The script file, made empty now and gone from its directory at once: the script is written
  // into it when a run takes the shell, and bash opens it (/dev/fd/4) only after its go.
  const dir = join(workDir, 'scripts');
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const path = join(dir, `warm-${process.pid}-${++fileCount}.sh`);
  const file = openSync(path, 'wx+', 0o700);
  rmSync(path);
  const home = cwd ?? user.home;
  let child: ChildProcess;
  try {
    child = spawn(bash, [scriptFdPath], {
      cwd: home,
      env,
      detached: true, // as on the normal path: the script leads its own process group
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', file],
    });
  } catch (error) {
    closeSync(file);
    throw error;
  }
  child.on('error', () => undefined); // a failed start shows as no pid; its cause does not matter
  const spawned = new Promise((resolve) => child.once('spawn', resolve));
  const shell: WarmShell = { child, spawned, cwd: home, file };
  if (child.pid === undefined) {
    kill(shell);
    return undefined;
  }
  return shell;
}

/** Writes the script into the shell's file (at its start: the shell shares the file's offset). */
function feed(shell: WarmShell, script: string): boolean {
  const fd = shell.file;
  if (fd === undefined) return false;
  shell.file = undefined;
  try {
    const data = Buffer.from(script);
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at, at);
    return true;
  } catch {
    return false;
  } finally {
    closeSync(fd);
  }
}

/** Whether the process's working directory is the directory `path` names now. */
function sameDir(child: ChildProcess, path: string): boolean {
  try {
    const actual = statSync(`/proc/${child.pid}/cwd`);
    const named = statSync(path);
    return actual.dev === named.dev && actual.ino === named.ino;
  } catch {
    return false;
  }
}

function kill(shell: WarmShell): void {
  const { child } = shell;
  // It leads its own process group and has run nothing yet: the group is the shell alone.
  if (child.pid !== undefined) signal(-child.pid, 'SIGKILL');
  for (const stream of child.stdio) stream?.destroy();
  if (shell.file !== undefined) closeSync(shell.file);
  shell.file = undefined;
}
