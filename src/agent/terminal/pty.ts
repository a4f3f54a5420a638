import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { killSessions } from './process-session.js';
import type { PtyLaunch } from './shell-launch.js';

export interface PtyExit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

/** A pty starts at 0×0 (script's stdin is no terminal to copy): programs need a size before any resize. */
const defaultSize: TerminalSize = { columns: 80, rows: 24 };
/** How long the shell may take to appear on its pty; a resize before that waits for it. */
const findTerminalMs = 5_000;
const sttyTimeoutMs = 5_000;

/**
 * The shell in its pseudo-terminal: `script` relays between its stdio pipes and the pty's master.
 * The shell (script's child) leads its own session, which is how all it started is found and ended.
 * Input waits while a size is being set (the first one, then each resize), as a terminal's own
 * size change comes before the keys typed after it: a program reads its input at the new size.
 */
export class Pty {
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves once `script` runs; rejects when it could not be started (no such program). */
  readonly started: Promise<void>;
  /** Resolves when `script` exits, the shell's status its own (`-e`). */
  readonly exited: Promise<PtyExit>;
  private readonly child: ChildProcess;
  private hasExited = false;
  private shellPid: number | undefined;
  private tty: string | undefined;
  private wantedSize: TerminalSize | undefined = defaultSize;
  private resizing = false;
  /** Looking for the shell's tty (a size can only be set once it is found). */
  private searching = true;
  /** Input corked until the size being set is set. */
  private holdingInput = false;
  /** The input's end, when it came while input was held. */
  private endWhenReleased = false;

  /** `beforeStart` gets script's pid before its go (the agent moves it out of its own capped cgroup). */
  constructor(launch: PtyLaunch, beforeStart?: (pid: number) => void) {
    // detached: script leads a session of its own, apart from the agent's.
    this.child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    // The go (shell-launch.ts); typed as any stdio entry, 'pipe' at fd 3 makes it a writable socket.
    const gate = this.child.stdio[3] as Writable;
    gate.on('error', () => undefined);
    // 'pipe' above makes each of these a stream.
    this.stdin = this.child.stdin as Writable;
    this.stdout = this.child.stdout as Readable;
    // A pipe's error must not take the agent down: script gone, its output ends (the flow sees 'close').
    for (const pipe of [this.stdin, this.stdout, this.child.stderr]) pipe?.on('error', () => undefined);
    this.holdInput();
    this.started = new Promise((resolve, reject) => {
      this.child.once('spawn', resolve);
      this.child.on('error', reject);
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (exitCode, signal) => {
        this.hasExited = true;
        this.releaseInput();
        resolve({ exitCode, signal });
      });
    });
    this.started.then(
      () => {
        const pid = this.child.pid;
        if (pid !== undefined) beforeStart?.(pid);
        gate.end('go\n');
        void this.findTerminal();
      },
      () => {
        gate.destroy();
        this.searching = false;
        this.releaseInput();
      },
    );
  }

  /** What script itself wrote on stderr (its own or setpriv's complaints), for the agent's log. */
  get stderr(): Readable {
    return this.child.stderr as Readable;
  }

  /** Sets the pty's size (the kernel sends SIGWINCH to its foreground job); the latest size wins. */
  resize(size: TerminalSize): void {
    this.wantedSize = size;
    if (this.tty || this.searching) this.holdInput();
    this.applySize();
  }

  /** Ends the input (the terminal's EOF) after what was written, once no size is being set. */
  endInput(): void {
    if (this.holdingInput) this.endWhenReleased = true;
    else if (this.stdin.writable) this.stdin.end();
  }

  /** Ends the shell's whole session and script itself; resolves once they are gone. */
  async kill(graceMs: number): Promise<void> {
    const sessions: number[] = [];
    const scriptPid = this.child.pid;
    // Only while script runs: once reaped, its pid may name another process.
    const scriptRuns = scriptPid !== undefined && !this.hasExited;
    if (scriptRuns) sessions.push(scriptPid);
    const shellPid = this.shellPid ?? (scriptRuns ? await childOf(scriptPid) : undefined);
    if (shellPid !== undefined) sessions.push(shellPid);
    await killSessions(sessions, graceMs);
  }

  private async findTerminal(): Promise<void> {
    const scriptPid = this.child.pid;
    if (scriptPid === undefined) return;
    const deadlineMs = Date.now() + findTerminalMs;
    for (let waitMs = 5; !this.hasExited && Date.now() < deadlineMs; waitMs = Math.min(waitMs * 2, 100)) {
      const shellPid = await childOf(scriptPid);
      // The child's stdin is script's pipe until it has moved onto the pty (after its setsid).
      const tty = shellPid === undefined ? '' : await readlink(`/proc/${shellPid}/fd/0`).catch(() => '');
      if (tty.startsWith('/dev/pts/')) {
        this.shellPid = shellPid;
        this.tty = tty;
        this.searching = false;
        this.applySize();
        return;
      }
      await delay(waitMs);
    }
    // No tty found (script gone, or too slow): input goes on unsized.
    this.searching = false;
    this.releaseInput();
  }

  /** One `stty` at a time: a window dragged about sends many sizes, only the last one matters. */
  private applySize(): void {
    if (!this.tty || this.resizing) return;
    const size = this.wantedSize;
    if (!size || this.hasExited) {
      this.releaseInput();
      return;
    }
    this.wantedSize = undefined;
    this.resizing = true;
    const args = ['-F', this.tty, 'cols', String(size.columns), 'rows', String(size.rows)];
    execFile('stty', args, { timeout: sttyTimeoutMs }, () => {
      this.resizing = false;
      this.applySize();
    });
  }

  private holdInput(): void {
    if (this.holdingInput || this.hasExited) return;
    this.holdingInput = true;
    this.stdin.cork();
  }

  private releaseInput(): void {
    if (!this.holdingInput) return;
    this.holdingInput = false;
    this.stdin.uncork();
    if (this.endWhenReleased && this.stdin.writable) this.stdin.end();
  }
}

/** The first child of `pid` (script has one: the shell), from /proc. */
async function childOf(pid: number): Promise<number | undefined> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  const first = text.trim().split(' ')[0];
  return first ? Number(first) : undefined;
}
