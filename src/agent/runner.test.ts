import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunHandle, type RunSpec, runScript } from './runner.js';
import { type WarmShells, warmShellsFor } from './warm-shells.js';

// Generous bounds: the suite must pass on a loaded two-core machine.
const settleMs = 10_000;
const graceMs = 500;

let workDir: string;
let scratch: string;
const userName = `oa${randomBytes(4).toString('hex')}`;
const groupName = `oag${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'runner-work-'));
  scratch = await mkdtemp(join(tmpdir(), 'runner-scratch-'));
  // mkdtemp makes 0700 dirs; run-as users must be able to reach their script and the scratch files.
  await chmod(workDir, 0o711);
  await chmod(scratch, 0o777);
  execFileSync('groupadd', [groupName]);
  execFileSync('useradd', ['-m', '-s', '/bin/bash', '-G', groupName, userName]);
});

afterAll(async () => {
  // A failed assertion can leave a run going; stop it before deleting its user and files.
  for (const handle of handles) handle.stop('ProcessTree');
  await Promise.all(handles.map((handle) => handle.done));
  execFileSync('userdel', ['-r', '-f', userName], { stdio: 'ignore' });
  execFileSync('groupdel', [groupName], { stdio: 'ignore' });
  await rm(workDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

let runCounter = 0;
const handles: RunHandle[] = [];
/** Set while the suite runs on the warm path: each test starts with a shell started ahead. */
let warmShells: WarmShells | undefined;

function start(script: string, overrides: Partial<RunSpec> = {}) {
  const chunks: Buffer[] = [];
  let pid: number | undefined;
  const spec: RunSpec = {
    invokeId: `t-${process.pid}-${++runCounter}`,
    script,
    timeoutSeconds: 600,
    workDir,
    killGraceMs: graceMs,
    warmShells,
    ...overrides,
  };
  const handle: RunHandle = runScript(spec, {
    onStart: (startedPid) => {
      pid = startedPid;
    },
    onOutput: (chunk) => chunks.push(chunk),
  });
  handles.push(handle);
  return {
    handle,
    output: () => Buffer.concat(chunks).toString('utf8'),
    pid: () => pid,
  };
}

async function run(script: string, overrides: Partial<RunSpec> = {}) {
  const started = start(script, overrides);
  const outcome = await started.handle.done;
  return { outcome, output: started.output(), pid: started.pid() };
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + settleMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Alive and not a zombie (an orphaned zombie waits for init to reap it, but it runs nothing). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function groupMembers(pgid: number): number[] {
  try {
    const out = execFileSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' });
    return out
      .split('\n')
      .map(Number)
      .filter((pid) => pid > 0 && isAlive(pid));
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

async function readPids(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

// A leader, a background child, an orphaned grandchild and a child that ignores SIGTERM.
function treeScript(pidFile: string): string {
  return [
    `echo $$ >> ${pidFile}`,
    `sleep 300 & echo $! >> ${pidFile}`,
    `( sleep 300 & echo $! >> ${pidFile} )`,
    `bash -c 'trap "" TERM; sleep 300' & echo $! >> ${pidFile}`,
    'sleep 300',
  ].join('\n');
}

// Every test runs on both paths: a shell started for the run, and one started ahead (warm-shells.ts),
// which runs without Username, extra environment or another WorkingDir take.
describe.each(['fresh', 'warm'] as const)('runScript (%s shell)', (path) => {
  /** The shell started ahead for this test, which the test's first eligible run takes. */
  let warmPid: number | undefined;

  beforeEach(async () => {
    if (path === 'fresh') return;
    warmShells = warmShellsFor(workDir);
    await warmShells.refill();
    warmPid = warmShells.idlePid;
    expect(warmPid).toBeGreaterThan(0);
  });

  afterEach(() => {
    warmShells?.close();
    warmShells = undefined;
  });

  it('merges stdout and stderr in write order and reports success', async () => {
    const script = 'for i in 1 2 3 4 5 6 7 8 9 10; do echo "out $i"; echo "err $i" >&2; done';
    const { outcome, output, pid } = await run(script);
    const expected = Array.from({ length: 10 }, (_, i) => `out ${i + 1}\nerr ${i + 1}\n`).join('');
    expect(output).toBe(expected);
    expect(outcome).toEqual({ status: 'Success', exitCode: 0, errorCode: '', errorInfo: '' });
    expect(pid).toBeGreaterThan(0);
    if (path === 'warm') expect(pid).toBe(warmPid);
  });

  it('merges stderr for the script alone: its own bash children keep theirs, and BASH_ENV is gone', async () => {
    const script = [
      'if [ -n "$BASH_ENV" ]; then echo "[set]"; else echo "[unset]"; fi',
      "bash -c 'echo hidden >&2; echo shown' 2>/dev/null",
      'echo to-stderr >&2',
    ].join('\n');
    const { outcome, output } = await run(script);
    expect(outcome.status).toBe('Success');
    expect(output).toBe('[unset]\nshown\nto-stderr\n');
  });

  it('runs the file with the given interpreter and extension', async () => {
    const { outcome, output } = await run('print("from", "python")\n', {
      interpreter: { command: 'python3', args: ['-u'], extension: 'py' },
    });
    expect(outcome.status).toBe('Success');
    expect(output).toBe('from python\n');
  });

  it('reports a non-zero exit code as Failed', async () => {
    const { outcome } = await run('echo bye; exit 3');
    expect(outcome).toEqual({
      status: 'Failed',
      exitCode: 3,
      errorCode: 'ExitCodeNonzero',
      errorInfo: 'the command execution exit code is not zero',
    });
  });

  it('passes the script from a 0700 file removed before it runs, on a descriptor its processes do not inherit', async () => {
    const scripts = join(workDir, 'scripts');
    const { outcome, output } = await run(
      `stat -L -c "%a %U %h" /proc/$$/fd/255; echo "$0"; ls -A ${scripts}; ls /proc/$$/fd | grep -qx 4 && echo fd-4-open || echo fd-4-closed`,
      { invokeId: 't-file-check' },
    );
    expect(outcome.status).toBe('Success');
    // No link left: the file (which may hold secret parameters) is gone while the script runs.
    expect(output).toBe('700 root 0\n/dev/fd/4\nfd-4-closed\n');
    // Taken, this run was the warm one: the next is started after it, its file made and unlinked then.
    if (path === 'warm')
      await waitFor(
        () => warmShells?.idlePid !== undefined && warmShells.idlePid !== warmPid,
        'the next shell started ahead',
      );
    expect(await readdir(scripts)).toEqual([]);
  });

  it('honours the working directory and extra environment variables', async () => {
    const { outcome, output } = await run('pwd; echo "$GREETING"', {
      workingDir: scratch,
      env: { GREETING: 'hello there' },
    });
    expect(outcome.status).toBe('Success');
    expect(output).toBe(`${await realpath(scratch)}\nhello there\n`);
  });

  it('runs as the agent user in its home by default', async () => {
    const { output, pid } = await run('id -un; pwd; echo "$HOME"');
    const home = process.env.HOME || '/root';
    expect(output).toBe(`root\n${home}\n${home}\n`);
    if (path === 'warm') expect(pid).toBe(warmPid);
  });

  it('starts the process at once but its script only once `ready` resolves', async () => {
    let go = () => {};
    const ready = new Promise<void>((resolve) => {
      go = resolve;
    });
    const invokeId = `t-ready-${process.pid}`;
    // The fresh shell is found by its environment; the warm one is up already (warmPid).
    const marked = path === 'fresh' ? { env: { READY_MARK: invokeId } } : {};
    const started = start('date +%s%N', { invokeId, ready, ...marked });
    // The shell is up, waiting for its go: the script has not started.
    const environ = (pid: string) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1');
      } catch {
        return ''; // gone meanwhile
      }
    };
    if (path === 'fresh') {
      await waitFor(
        () =>
          readdirSync('/proc')
            .filter((name) => /^\d+$/.test(name))
            .some((pid) => environ(pid).split('\0').includes(`READY_MARK=${invokeId}`)),
        'the shell to start',
      );
    } else {
      // Its script written, the warm shell waits for its go like a fresh one.
      await waitFor(
        () => readFileSync(`/proc/${warmPid}/fd/4`, 'utf8') === 'date +%s%N',
        'the script in the shell',
      );
    }
    expect(started.pid()).toBeUndefined();
    const goNs = BigInt(Date.now()) * 1_000_000n;
    go();
    expect((await started.handle.done).status).toBe('Success');
    expect(BigInt(started.output().trim())).toBeGreaterThanOrEqual(goNs);
    expect(started.pid()).toBeGreaterThan(0);
    if (path === 'warm') expect(started.pid()).toBe(warmPid);
  });

  it('never runs the script when `ready` rejects: Error, with the reason', async () => {
    const marker = join(scratch, `never-${process.pid}`);
    const { outcome, output } = await run(`echo ran > ${marker}; echo ran`, {
      ready: Promise.reject(new Error('the disk is gone')),
    });
    expect(outcome).toEqual({
      status: 'Error',
      exitCode: null,
      errorCode: 'ExecutionException',
      errorInfo: 'the command execution got an exception: the disk is gone',
    });
    expect(output).toBe('');
    expect(await readFile(marker, 'utf8').catch(() => 'absent')).toBe('absent');
    if (path === 'warm') expect(isAlive(warmPid!)).toBe(false); // the warm shell took it, and ended
  });

  it('fails with DirectoryNotExists without running anything', async () => {
    const { outcome, output, pid } = await run('echo ran', { workingDir: join(scratch, 'missing') });
    expect(outcome).toEqual({
      status: 'Failed',
      exitCode: null,
      errorCode: 'DirectoryNotExists',
      errorInfo: 'the specified directory does not exists',
    });
    expect(output).toBe('');
    expect(pid).toBeUndefined();
  });

  it('fails with AccountNotExists for an unknown user, and for numeric or option-like names', async () => {
    for (const username of [`nouser${randomBytes(4).toString('hex')}`, '0', '-s']) {
      const { outcome, pid } = await run('echo ran', { username });
      expect(outcome).toEqual({
        status: 'Failed',
        exitCode: null,
        errorCode: 'AccountNotExists',
        errorInfo: 'the specified account does not exists',
      });
      expect(pid).toBeUndefined();
    }
  });

  it('runs as another user with its supplementary groups, login environment and home', async () => {
    const script = 'id -un; id -Gn; echo "$HOME $USER $LOGNAME $SHELL"; pwd; stat -L -c %U /proc/$$/fd/255';
    const { outcome, output } = await run(script, { username: userName });
    expect(outcome.status).toBe('Success');
    const [name, groups, env, cwd, owner] = output.split('\n');
    expect(name).toBe(userName);
    expect(groups?.split(' ')).toContain(groupName);
    expect(env).toBe(`/home/${userName} ${userName} ${userName} /bin/bash`);
    expect(cwd).toBe(`/home/${userName}`);
    expect(owner).toBe(userName);
  });

  it('kills the whole process tree on timeout, including orphans and SIGTERM-ignoring children', async () => {
    const pidFile = join(scratch, `timeout-pids-${path}`);
    const { outcome, pid } = await run(treeScript(pidFile), { timeoutSeconds: 3 });
    expect(outcome).toEqual({
      status: 'Timeout',
      exitCode: null,
      errorCode: 'ExecutionTimeout',
      errorInfo: 'the command execution has been timeout',
    });
    const pids = await readPids(pidFile);
    expect(pids).toHaveLength(4);
    await waitFor(() => pids.every((p) => !isAlive(p)) && groupMembers(pid!).length === 0, 'the tree to die');
  });

  it("stops the whole tree on stop('ProcessTree')", async () => {
    const pidFile = join(scratch, `stop-tree-pids-${path}`);
    const started = start(treeScript(pidFile), { username: userName });
    await waitFor(async () => (await readPids(pidFile)).length === 4, 'the tree to start');
    started.handle.stop('ProcessTree');
    expect(await started.handle.done).toEqual({
      status: 'Terminated',
      exitCode: null,
      errorCode: '',
      errorInfo: '',
    });
    const pids = await readPids(pidFile);
    await waitFor(
      () => pids.every((p) => !isAlive(p)) && groupMembers(started.pid()!).length === 0,
      'the tree to die',
    );
  });

  it("stops only the script's process on stop('Process')", async () => {
    const pidFile = join(scratch, `stop-process-pids-${path}`);
    const started = start(`echo $$ >> ${pidFile}; sleep 300 & echo $! >> ${pidFile}; wait`);
    await waitFor(async () => (await readPids(pidFile)).length === 2, 'the script to start');
    started.handle.stop('Process');
    const outcome = await started.handle.done;
    const [leader, child] = await readPids(pidFile);
    try {
      expect(outcome).toEqual({ status: 'Terminated', exitCode: null, errorCode: '', errorInfo: '' });
      expect(isAlive(leader!)).toBe(false);
      expect(isAlive(child!)).toBe(true);
    } finally {
      process.kill(child!, 'SIGKILL');
    }
  });

  it('does not run a script stopped before it started', async () => {
    const started = start('echo ran');
    started.handle.stop('ProcessTree');
    expect(await started.handle.done).toEqual({
      status: 'Terminated',
      exitCode: null,
      errorCode: '',
      errorInfo: '',
    });
    expect(started.output()).toBe('');
    expect(started.pid()).toBeUndefined();
  });

  it('reports spawn and preparation failures as ExecutionException', async () => {
    const badEnv = await run('echo ran', { env: { BAD: 'a\0b' } });
    expect(badEnv.outcome.status).toBe('Error');
    expect(badEnv.outcome.errorCode).toBe('ExecutionException');
    expect(badEnv.outcome.errorInfo).toMatch(/^the command execution got an exception: /);
    const badId = await run('echo ran', { invokeId: '../escape' });
    expect(badId.outcome).toMatchObject({ status: 'Error', errorCode: 'ExecutionException', exitCode: null });
    expect(await readdir(join(workDir, 'scripts'))).toEqual([]);
  });
});

describe('a shell started ahead (warm-shells.ts)', () => {
  let shells: WarmShells;

  afterEach(() => shells.close());

  async function warmed(options: Parameters<typeof warmShellsFor>[1] = {}): Promise<number> {
    shells = warmShellsFor(workDir, options);
    await shells.refill();
    const pid = shells.idlePid;
    if (pid === undefined) throw new Error('no shell started ahead');
    return pid;
  }

  it('is not taken by a run in another working directory, with another user or extra environment', async () => {
    const idle = await warmed();
    const elsewhere = await run('pwd; id -un', { workingDir: scratch, warmShells: shells });
    expect(elsewhere.output).toBe(`${await realpath(scratch)}\nroot\n`);
    const asOther = await run('pwd; id -un', { username: userName, warmShells: shells });
    expect(asOther.output).toBe(`/home/${userName}\n${userName}\n`);
    const withEnv = await run('echo "$GREETING"', { env: { GREETING: 'hi' }, warmShells: shells });
    expect(withEnv.output).toBe('hi\n');
    for (const other of [elsewhere, asOther, withEnv]) expect(other.pid).not.toBe(idle);
    // Still idle, never handed a script.
    expect(shells.idlePid).toBe(idle);
    expect(readFileSync(`/proc/${idle}/fd/4`, 'utf8')).toBe('');
  });

  it('is not taken when its directory was removed and made again under the same name', async () => {
    const dir = join(scratch, `replaced-${process.pid}`);
    await mkdir(dir);
    const idle = await warmed({ cwd: dir });
    await rm(dir, { recursive: true });
    await mkdir(dir);
    const { outcome, output, pid } = await run('ls -l /proc/$$/cwd | grep -c deleted || true', {
      workingDir: dir,
      warmShells: shells,
    });
    expect(outcome.status).toBe('Success');
    expect(output).toBe('0\n');
    expect(pid).not.toBe(idle);
    await waitFor(() => !isAlive(idle), 'the stale shell to be killed');
  });

  it('is taken by a run in the directory it started in, then started again for the next run', async () => {
    const idle = await warmed({ cwd: scratch });
    const { output, pid } = await run('pwd', { workingDir: scratch, warmShells: shells });
    expect(output).toBe(`${await realpath(scratch)}\n`);
    expect(pid).toBe(idle);
    await waitFor(() => (shells.idlePid ?? idle) !== idle, 'a new shell ahead');
  });

  it('goes after its idle time, and none is started after close', async () => {
    const idle = await warmed({ idleMs: 200 });
    await waitFor(() => !isAlive(idle), 'the idle shell to go');
    expect(shells.idlePid).toBeUndefined();
    shells.close();
    await shells.refill();
    expect(shells.idlePid).toBeUndefined();
  });
});
