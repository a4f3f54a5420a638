import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { access, chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { executionException, type RunErrorCode, runError } from '../domain/run-errors.js';
import { errnoCode } from '../guards.js';
import { drain, reapGroup, signal } from './runner-process-group.js';
import { currentUser, lookupUser, type RunAsUser } from './users.js';
import type { WarmShells } from './warm-shells.js';

export type TerminationMode = 'Process' | 'ProcessTree';

export interface RunSpec {
  readonly invokeId: string;
  readonly script: string;
  /** Default (or ''): the agent's own user. */
  readonly username?: string | undefined;
  /** Default: the run-as user's home directory. */
  readonly workingDir?: string | undefined;
  readonly timeoutSeconds: number;
  readonly env?: Readonly<Record<string, string>> | undefined;
  /** The agent's work dir; scripts go to `<workDir>/scripts`, so run-as users need search (x) on it. */
  readonly workDir: string;
  readonly killGraceMs?: number;
  /** What runs the script file (default: bash, else sh), e.g. pwsh for PowerShell scripts. */
  readonly interpreter?: Interpreter | undefined;
  /**
   * The script starts only once this resolves (the process is started before, so its start-up
   * overlaps the wait); a rejection ends the run `Error` with its message, the script never run.
   */
  readonly ready?: Promise<void> | undefined;
  /** Called with the shell's pid just before its go (the agent moves it out of its own capped cgroup). */
  readonly beforeStart?: ((pid: number) => void) | undefined;
  /**
   * Shells started ahead (warmShellsFor): a shell script run as the agent's own user, with no
   * extra environment, in the directory such a shell was started in takes one, and refills it.
   */
  readonly warmShells?: WarmShells | undefined;
}

export interface Interpreter {
  readonly command: string;
  /** Arguments before the script file's path. */
  readonly args: readonly string[];
  /** The script file's extension, which some interpreters insist on. */
  readonly extension: string;
}

export type RunStatus = 'Success' | 'Failed' | 'Timeout' | 'Terminated' | 'Error';

/** The codes a runner ends a run with (the texts: domain/run-errors.ts). */
export type RunnerErrorCode = Extract<
  RunErrorCode,
  | 'ExitCodeNonzero'
  | 'ExecutionTimeout'
  | 'AccountNotExists'
  | 'DirectoryNotExists'
  | 'ContainerNotExists'
  | 'ContainerNotRunning'
  | 'CommandNotApplicable'
  | 'ExecutionException'
  | 'FileAlreadyExists'
  | 'GroupNotExists'
  | 'FileDownloadFailed'
  | 'FileChecksumMismatch'
>;

export interface RunOutcome {
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly errorCode: '' | RunnerErrorCode;
  readonly errorInfo: string;
}

export interface RunHandle {
  readonly done: Promise<RunOutcome>;
  /** Stop on request (StopInvocation): 'ProcessTree' kills the whole process group, 'Process' only the script's own process. Status becomes 'Terminated'. */
  stop(mode: TerminationMode): void;
}

/** Callbacks run inside event handlers and must not throw. */
export interface RunEvents {
  /** The script started; `pid` leads its process group on this host, when known. */
  onStart?: (pid: number | undefined) => void;
  onOutput?: (chunk: Buffer) => void;
}

export const defaultKillGraceMs = 5000;
// Once the script has exited, what it wrote is read within a few event-loop turns; a background
// child still holding the pipe must not keep the run open, so stop reading after this.
const outputDrainMs = 250;
export const maxTimerMs = 2 ** 31 - 1;
export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
// Every launch first waits for the agent's go on fd 3 (its end closed without one: the script must
// not run), closes it, and dups stderr onto stdout's pipe, so both arrive merged in write order.
const gateThenExec = 'read -r REPLY <&3 || exit 1; exec 3<&- 2>&1; exec "$@"';
// bash runs the file BASH_ENV names before a script: doing the same there spares a second shell start
// per run (about a millisecond). It unsets itself, so the script's own bash children never read it.
// bash opens the script (fd 4) only after this file: a DEBUG trap, run once before the script's
// first command, closes fd 4 then, so the script's processes do not inherit it.
export const bashPrelude =
  "read -r REPLY <&3 || exit 1\nexec 3<&- 2>&1\nunset BASH_ENV REPLY\ntrap 'exec 4<&-; trap - DEBUG' DEBUG\n";
/** Where a shell opens a script passed by descriptor (the child's stdio[4]). */
export const scriptFdPath = '/dev/fd/4';
const setprivPaths = ['/usr/bin/setpriv', '/bin/setpriv'];

export type KillReason = 'timeout' | 'stop-tree' | 'stop-process';

/** The first kill request wins; requests after the script exited are ignored. */
export class KillSwitch {
  reason: KillReason | undefined;
  private closed = false;
  private kill: ((reason: KillReason) => void) | undefined;

  request(reason: KillReason): void {
    if (this.reason || this.closed) return;
    this.reason = reason;
    this.kill?.(reason);
  }
  attach(kill: (reason: KillReason) => void): void {
    this.kill = kill;
  }
  close(): KillReason | undefined {
    this.closed = true;
    return this.reason;
  }
}

export function runScript(spec: RunSpec, events: RunEvents): RunHandle {
  const killSwitch = new KillSwitch();
  const done = prepareAndRun(spec, events, killSwitch).catch(exceptionOutcome);
  return { done, stop: (mode) => killSwitch.request(mode === 'ProcessTree' ? 'stop-tree' : 'stop-process') };
}

async function prepareAndRun(spec: RunSpec, events: RunEvents, killSwitch: KillSwitch): Promise<RunOutcome> {
  const user = spec.username ? await lookupUser(spec.username) : currentUser();
  if (!user) return failure('AccountNotExists');
  const cwd = spec.workingDir || user.home;
  const file = scriptPath(spec);
  const warm = warmable(spec) ? spec.warmShells : undefined;
  const script: ScriptHandle = {};
  try {
    const warmRun = warm && executeWarm(warm, cwd, spec, events, killSwitch);
    if (warmRun) return await warmRun;
    // Synchronous: a small file in the agent's own directory, written sooner than through the thread pool.
    writeScript(file, spec.script, user);
    // A shell reads its script from a descriptor (/dev/fd/4): the file, which may hold secret
    // parameters, is gone before the script starts, so no crash can leave it behind. Other
    // interpreters (pwsh insists on a .ps1 name) open it by name; it goes when the run ends.
    if (!spec.interpreter) {
      script.fd = openSync(file, 'r');
      rmSync(file);
    }
    const launch = await buildLaunch(
      user,
      script.fd === undefined ? file : scriptFdPath,
      cwd,
      spec.env,
      spec.interpreter,
      spec.workDir,
    );
    return await execute({ ...launch, script }, spec, events, killSwitch);
  } finally {
    release(script);
    rmSync(file, { force: true });
    // After the run's end has been handed on (promise callbacks run first): off its path.
    if (warm) setImmediate(() => void warm.refill());
  }
}

/** A run a warm shell can take: what differs from one is its working directory alone, checked on taking. */
function warmable(spec: RunSpec): boolean {
  return !spec.username && !spec.interpreter && Object.keys(spec.env ?? {}).length === 0;
}

/** The agent's descriptor of a script passed by descriptor: closed once the shell has its own. */
interface ScriptHandle {
  fd?: number;
}

function release(script: ScriptHandle): void {
  if (script.fd !== undefined) closeSync(script.fd);
  script.fd = undefined;
}

/** A launch that failed: a missing working directory says so (checked only then, not before every run). */
async function launchFailure(error: unknown, cwd: string): Promise<RunOutcome> {
  return (await isDirectory(cwd)) ? exceptionOutcome(error) : failure('DirectoryNotExists');
}

interface Launch {
  readonly command: string;
  readonly args: string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** A script passed as fd 4. */
  readonly script?: ScriptHandle;
}

function execute(
  launch: Launch,
  spec: RunSpec,
  events: RunEvents,
  killSwitch: KillSwitch,
): Promise<RunOutcome> {
  return new Promise((resolve) => {
    if (killSwitch.reason) return resolve(exitOutcome(killSwitch.close(), null));
    let child: ChildProcess;
    try {
      // detached: the script leads its own process group, so the whole tree can be signalled at once.
      const descriptor = launch.script?.fd;
      child = spawn(launch.command, launch.args, {
        cwd: launch.cwd,
        env: launch.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', ...(descriptor === undefined ? [] : [descriptor])],
      });
    } catch (error) {
      // A working directory that is not one (ENOTDIR) fails here; a missing one (ENOENT) in 'error'.
      return resolve(launchFailure(error, launch.cwd));
    } finally {
      // The child has its copy (or none: it failed): the agent's is not needed any more.
      if (launch.script) release(launch.script);
    }
    const pid = child.pid;
    // Without a pid the spawn failed: Node reports why in 'error' and never emits 'exit'.
    child.once('error', (error) => {
      if (pid !== undefined) return;
      for (const stream of [child.stdout, child.stderr]) stream?.destroy();
      resolve(launchFailure(error, launch.cwd));
    });
    if (pid === undefined) return;
    const spawned = new Promise((resolve) => child.once('spawn', resolve));
    supervise({ child, pid, spawned }, spec, events, killSwitch).then(resolve);
  });
}

/**
 * A run in a shell started ahead (warm-shells.ts), when one is idle in the run's directory: its
 * script is written into the shell's fd 4, a file already unlinked. Undefined when there is none.
 */
function executeWarm(
  shells: WarmShells,
  cwd: string,
  spec: RunSpec,
  events: RunEvents,
  killSwitch: KillSwitch,
): Promise<RunOutcome> | undefined {
  if (killSwitch.reason) return undefined;
  const shell = shells.take(cwd, spec.script);
  const pid = shell?.child.pid;
  if (!shell || pid === undefined) return undefined;
  return supervise({ child: shell.child, pid, spawned: shell.spawned }, spec, events, killSwitch);
}

interface Started {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly spawned: Promise<unknown>;
}

/** Gives a started shell its go once `spec.ready` allows, enforces timeout and stops, reports its end. */
function supervise(
  { child, pid, spawned }: Started,
  spec: RunSpec,
  events: RunEvents,
  killSwitch: KillSwitch,
): Promise<RunOutcome> {
  return new Promise((resolve) => {
    // stderr only carries launcher errors (setpriv); the script's own stderr goes to stdout.
    // ChildProcess types each stdio entry as possibly null: 'pipe' (spawn above) makes it a stream.
    const streams = [child.stdout, child.stderr] as Readable[];
    // The shell waits on fd 3 for the go: once it is up and `spec.ready` has resolved.
    // Typed as any stdio entry: 'pipe' at fd 3 makes it a socket, which is writable.
    const gate = child.stdio[3] as Writable;
    gate.on('error', () => undefined); // the shell may be gone (stopped) before its go
    let refused: unknown;
    for (const stream of streams) stream.on('data', (chunk: Buffer) => events.onOutput?.(chunk));
    const graceMs = spec.killGraceMs ?? defaultKillGraceMs;
    let killDeadlineMs = 0;
    let graceTimer: NodeJS.Timeout | undefined;
    killSwitch.attach((reason) => {
      const target = reason === 'stop-process' ? pid : -pid;
      signal(target, 'SIGTERM');
      killDeadlineMs = Date.now() + graceMs;
      graceTimer = setTimeout(() => signal(target, 'SIGKILL'), graceMs);
    });
    const timeoutMs = Math.min(spec.timeoutSeconds * 1000, maxTimerMs);
    const timeoutTimer = setTimeout(() => killSwitch.request('timeout'), timeoutMs);
    let exited = false;
    Promise.all([spawned, spec.ready]).then(
      () => {
        // Stopped (or gone) while waiting: its script never starts.
        if (exited || killSwitch.reason) return gate.destroy();
        spec.beforeStart?.(pid);
        gate.end('go\n');
        events.onStart?.(pid);
      },
      (error: unknown) => {
        refused = error;
        gate.destroy();
      },
    );
    // 'exit', not 'close': an escaped grandchild can hold the pipes open indefinitely.
    child.once('exit', async (code) => {
      exited = true;
      clearTimeout(timeoutTimer);
      const reason = killSwitch.close();
      if (reason === 'timeout' || reason === 'stop-tree') await reapGroup(pid, killDeadlineMs);
      clearTimeout(graceTimer); // the leader's pid may be reused once reaped: never SIGKILL it late
      await drain(streams, outputDrainMs);
      gate.destroy();
      resolve(refused === undefined ? exitOutcome(reason, code) : exceptionOutcome(refused));
    });
  });
}

function scriptPath(spec: RunSpec): string {
  // The id names a file; anything path-like could write outside the scripts directory.
  if (!/^[\w-][\w.-]*$/.test(spec.invokeId))
    throw new Error(`invalid invoke id ${JSON.stringify(spec.invokeId)}`);
  return join(spec.workDir, 'scripts', `${spec.invokeId}.${spec.interpreter?.extension ?? 'sh'}`);
}

// Script directories already made by this process: each run then costs two fs calls, not five.
const preparedDirs = new Set<string>();

function writeScript(file: string, script: string, user: RunAsUser): void {
  const dir = join(file, '..');
  if (!preparedDirs.has(dir)) {
    // Search-only for others: a run-as user can open its own script but not list other runs'.
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
    preparedDirs.add(dir);
  }
  // Exclusive create: never through a planted file or link; a crashed agent's leftover goes first.
  try {
    writeFileSync(file, script, { mode: 0o700, flag: 'wx' });
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    rmSync(file, { force: true });
    writeFileSync(file, script, { mode: 0o700, flag: 'wx' });
  }
  if (user.uid !== process.getuid?.() || user.gid !== process.getgid?.()) chownSync(file, user.uid, user.gid);
}

async function buildLaunch(
  user: RunAsUser,
  file: string,
  cwd: string,
  extraEnv: RunSpec['env'],
  interpreter: Interpreter | undefined,
  workDir: string,
): Promise<Launch> {
  const shell = (await firstExecutable(['/bin/bash'])) ?? '/bin/sh';
  const login = loginEnv(user);
  const bashAlone = !interpreter && shell.endsWith('/bash');
  const run = bashAlone
    ? [shell, file]
    : [
        shell,
        '-c',
        gateThenExec,
        'openassist-launch',
        ...(interpreter ? [interpreter.command, ...interpreter.args] : [shell]),
        file,
      ];
  const env = {
    ...login,
    ...extraEnv,
    ...(bashAlone && { BASH_ENV: await preludeFile(workDir, 'prelude.bash', bashPrelude) }),
  };
  if (user.uid === process.getuid?.() && user.gid === process.getgid?.()) {
    return { command: shell, args: run.slice(1), cwd, env };
  }
  // libuv's uid/gid switch drops supplementary groups; setpriv --init-groups sets them like a login.
  const setpriv = (await firstExecutable(setprivPaths)) ?? 'setpriv';
  const args = [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--', ...run];
  return { command: setpriv, args, cwd, env };
}

/** A login-like environment, not the agent's own (which may carry its configuration and secrets). */
export function loginEnv(user: RunAsUser): Record<string, string> {
  return { HOME: user.home, USER: user.name, LOGNAME: user.name, SHELL: user.shell, PATH: defaultPath };
}

// The prelude files of each work dir, written once per process: readable by every run-as user, in a
// directory only the agent can write.
const preludes = new Map<string, string>();

/** `<workDir>/launch/<name>` holding `text`; the directory is made on the way. */
export async function preludeFile(workDir: string, name: string, text: string): Promise<string> {
  const dir = join(workDir, 'launch');
  let file = preludes.get(join(dir, name));
  if (!file) {
    await mkdir(dir, { recursive: true, mode: 0o711 });
    await chmod(dir, 0o711);
    file = join(dir, name);
    await writeFile(file, text, { mode: 0o644 });
    await chmod(file, 0o644);
    preludes.set(file, file);
  }
  return file;
}

// Where bash and setpriv are does not change while the agent runs: look once.
const executables = new Map<string, Promise<string | undefined>>();

export function firstExecutable(paths: readonly string[]): Promise<string | undefined> {
  const key = paths.join(':');
  let found = executables.get(key);
  if (!found) {
    found = (async () => {
      for (const path of paths) {
        if (
          await access(path, constants.X_OK).then(
            () => true,
            () => false,
          )
        )
          return path;
      }
      return undefined;
    })();
    executables.set(key, found);
  }
  return found;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/** A run that failed for `errorCode`, before its script ran (exit code null) or by its exit code. */
export function failure(errorCode: RunnerErrorCode, exitCode: number | null = null): RunOutcome {
  return { status: 'Failed', exitCode, ...runError(errorCode) };
}

export function exitOutcome(reason: KillReason | undefined, exitCode: number | null): RunOutcome {
  if (reason === 'timeout') {
    return { status: 'Timeout', exitCode, ...runError('ExecutionTimeout') };
  }
  if (reason) return { status: 'Terminated', exitCode, errorCode: '', errorInfo: '' };
  if (exitCode === 0) return { status: 'Success', exitCode, errorCode: '', errorInfo: '' };
  return failure('ExitCodeNonzero', exitCode);
}

export function exceptionOutcome(error: unknown): RunOutcome {
  return { status: 'Error', exitCode: null, ...executionException(error) };
}
