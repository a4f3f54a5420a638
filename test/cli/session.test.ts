import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliJson } from '../helpers/cli-process.js';
import { waitFor } from '../helpers/deadline.js';
import { type Fleet, startFleet } from '../helpers/fleet.js';
import { binPath } from '../helpers/server-process.js';
import { Tmux } from '../helpers/tmux.js';

interface ListedSession {
  SessionId: string;
  Username?: string;
  CommandLine?: string;
  Connections: { Connection: { Status: string; ClosedReason?: string }[] };
}

/** A line typed on the remote shell whose output, not its echo, matches `done`: `$((…))` is computed there. */
const marker = (name: string) => ({
  command: `echo ${name}-$((40+2))`,
  done: new RegExp(`^${name}-42`, 'm'),
});

/** Whether a process with exactly this command line runs on this machine (the agent's machine too). */
const running = (commandLine: string): boolean => {
  try {
    execFileSync('pgrep', ['-xf', commandLine]);
    return true;
  } catch {
    return false;
  }
};

// `openassist session` in a real terminal (tmux) against a real server and agent on this machine.
describe('openassist session', () => {
  let fleet: Fleet;
  let home: string;
  let env: Record<string, string>;
  let tmux: Tmux;
  let instanceId: string;
  const user = `oa${randomBytes(4).toString('hex')}`;
  const openassist = `${process.execPath} ${binPath}`;

  beforeAll(async () => {
    fleet = await startFleet();
    instanceId = fleet.agent.instanceId;
    home = await mkdtemp(join(tmpdir(), 'openassist-home-'));
    env = {
      HOME: home,
      OPENASSIST_DATA_DIR: join(home, 'no-data'),
      OPENASSIST_ENDPOINT: fleet.server.url,
      OPENASSIST_ACCESS_KEY_ID: fleet.server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: fleet.server.accessKeySecret,
    };
    execFileSync('useradd', ['-m', '-s', '/bin/bash', user]);
    tmux = await Tmux.start(env);
  });

  afterAll(async () => {
    await tmux?.kill();
    await fleet?.stop();
    try {
      execFileSync('userdel', ['-r', user], { stdio: 'ignore' });
    } catch {
      // never created
    }
    await rm(home, { recursive: true, force: true });
  });

  it('opens a shell in a pty that follows the window size, takes Ctrl-C, and exits with its status', async () => {
    await tmux.type(`${openassist} session ${instanceId}; echo "rc=$?"`);
    const tty = marker('TTY');
    await tmux.type(`tty; ${tty.command}`);
    await tmux.waitFor(tty.done);
    expect(await tmux.screen()).toMatch(/^\/dev\/pts\/\d+$/m);

    // The window's new size reaches the remote pty through SIGWINCH, a resize frame and the agent's
    // `stty -F`, which runs beside the shell: ask until the answer is the new size.
    await tmux.resize(120, 40);
    let asked = 0;
    await waitFor('the remote pty to be 120x40', async () => {
      const size = marker(`SIZE${++asked}`);
      await tmux.type(`stty size; ${size.command}`);
      const screen = (await tmux.waitFor(size.done)).input;
      return /^40 120$/m.test(screen) || undefined;
    });

    // Ctrl-C is the byte 0x03: the remote line discipline interrupts the foreground job.
    const sleep = `sleep 100.${randomBytes(2).readUInt16BE()}`;
    await tmux.type(sleep);
    await waitFor('the sleep to start', () => running(sleep) || undefined);
    await tmux.keys('C-c');
    await waitFor('the sleep to end', () => (running(sleep) ? undefined : true), 10_000);
    await tmux.type('echo "interrupted=$?"');
    await tmux.waitFor(/^interrupted=130$/m);

    await tmux.type('exit 3');
    await tmux.waitFor(/^rc=3$/m);
  });

  it('runs full-screen programs: top draws its screen and quits, vi edits a file', async () => {
    await tmux.type('clear');
    await tmux.type(`${openassist} session ${instanceId}; echo "rc=$?"`);
    await tmux.type('top -d 0.5');
    await tmux.waitFor(/load average/);
    await tmux.waitFor(/PID\s+USER/);
    await tmux.keys('q', true);
    // The agent runs on this machine: the file vi writes is here.
    const file = join(tmpdir(), `openassist-vi-${randomBytes(4).toString('hex')}`);
    const done = marker('VI');
    await tmux.type(`clear; vi ${file}; ${done.command}`);
    await tmux.waitFor(/^~/m);
    await tmux.keys('ifull screen works', true);
    await tmux.keys('Escape');
    await tmux.type(':wq');
    await tmux.waitFor(done.done);
    expect(readFileSync(file, 'utf8')).toBe('full screen works\n');
    rmSync(file);
    await tmux.type('exit 0');
    await tmux.waitFor(/^rc=0$/m);
  });

  it('runs the shell as another user, and ~. drops the session as in ssh', async () => {
    await tmux.type('clear');
    await tmux.type(`${openassist} session ${instanceId} --user ${user}; echo "rc=$?"`);
    await tmux.type('echo "who=$USER:$(id -un):$HOME"');
    await tmux.waitFor(new RegExp(`^who=${user}:${user}:/home/${user}$`, 'm'));
    // At the start of a line `~~` sends one `~`, and `~.` drops the session; in a line, both are text.
    await tmux.type('read -r line; echo "got=[$line]"');
    await tmux.type('~~x~.y');
    await tmux.waitFor(/^got=\[~x~\.y\]$/m);
    await tmux.keys('~.', true);
    await tmux.waitFor(/ closed \(~\.\)$/m);
    await tmux.waitFor(/^rc=255$/m);
    await waitFor('the dropped session to be ClientClosed', async () => {
      const sessions = await cliJson<ListedSession[]>(['session', 'list', '--instance', instanceId], { env });
      const dropped = sessions.find((session) => session.Username === user);
      return dropped?.Connections.Connection[0]?.ClosedReason === 'ClientClosed' || undefined;
    });
  });

  it('prints a recording with `session log`, and lists sessions in a table', async () => {
    const sessions = await cliJson<ListedSession[]>(['session', 'list', '--instance', instanceId], { env });
    // Newest first: the first test's session is the oldest of those as root.
    const first = sessions.filter((session) => session.Username !== user).at(-1);
    expect(first).toBeDefined();
    const log = await cli(['session', 'log', first?.SessionId ?? ''], { env });
    expect(log.code, log.stderr).toBe(0);
    expect(log.stdout).toMatch(/^TTY-42\r?$/m);
    expect(log.stdout).toMatch(/^40 120\r?$/m);
    const table = await cli(['session', 'list'], { env });
    expect(table.stdout).toContain(first?.SessionId);
    expect(table.stdout).toContain('ShellExited');
  });

  it('runs one command with -- CMD ARGS, quoted for the shell, and exits with its status', async () => {
    const failed = await cli(['session', instanceId, '--', 'sh', '-c', 'exit 4'], { env });
    expect(failed.code, failed.stderr).toBe(4);
    const printed = await cli(['session', instanceId, '--', 'printf', '%s|', 'a b', "it's", '$HOME', ''], {
      env,
    });
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).toContain("a b|it's|$HOME||");
  });

  it('reads a pipe as its keyboard: no escape, the exit status of the last command', async () => {
    const piped = await cli(['session', instanceId], { env, input: 'echo "piped-$((6*7))~."\nexit 5\n' });
    expect(piped.stdout).toMatch(/^piped-42~\.\r?$/m);
    expect(piped.code, piped.stderr).toBe(5);
    // The pipe's end is the terminal's end of input: the command reads EOF.
    const counted = await cli(['session', instanceId, '--', 'wc', '-c'], { env, input: 'abc\n' });
    expect(counted.stdout).toMatch(/^\s*4\r?$/m);
    expect(counted.code, counted.stderr).toBe(0);
  });

  it('ends a session with `session end`: the CLI says EndedByApi and exits 255', async () => {
    const running = cli(['session', instanceId, '--', 'sleep', '60'], { env });
    const sessionId = await waitFor('the session to connect', async () => {
      const sessions = await cliJson<ListedSession[]>(['session', 'list', '--max', '1'], { env });
      const [newest] = sessions;
      return newest?.CommandLine === 'sleep 60' && newest.Connections.Connection[0]?.Status === 'Connected'
        ? newest.SessionId
        : undefined;
    });
    const ended = await cli(['session', 'end', sessionId], { env });
    expect([ended.code, ended.stdout]).toEqual([0, `${sessionId} ended\n`]);
    const { code, stderr } = await running;
    expect([code, stderr]).toEqual([255, `openassist: session ${sessionId} ended: EndedByApi\n`]);
  });

  it('exits 255 with the ClosedReason when the session ends under it', async () => {
    const refused = await cli(['session', instanceId, '--user', 'no-such-user-here'], { env });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/session s-[0-9a-f]+ ended: UserNotExists/);
    const unknown = await cli(['session', 'mi-0000000000000000000000'], { env });
    expect([unknown.code, unknown.stderr]).toEqual([1, expect.stringContaining('InvalidInstance.NotFound')]);
  });
});
