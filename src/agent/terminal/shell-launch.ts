import { stat } from 'node:fs/promises';
import { defaultPath } from '../runner.js';
import type { RunAsUser } from '../users.js';

/** How to start `script`, which gives the shell its pseudo-terminal. */
export interface PtyLaunch {
  readonly command: string;
  readonly args: string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

/**
 * script starts only on the agent's go on fd 3 (its end closed without one: nothing starts), so the
 * agent can first move it out of its own capped cgroup, the shell and all it starts with it.
 */
const gateThenExec = 'read -r REPLY <&3 || exit 1; exec 3<&-; exec "$@"';

/** The terminal type the console and the CLI emulate. */
const terminalType = 'xterm-256color';

/**
 * The user's login shell (`-l`), or `commandLine`, in a pseudo-terminal of util-linux `script`
 * (once the agent's go came, see `gateThenExec`): a real pty without a native addon, which the
 * single executable could not load. `script` runs its `-c` command through $SHELL, which is the
 * user's shell here; `-e` makes it exit with the shell's status, `-f` passes output on at once,
 * `-q` drops its banners, and /dev/null keeps no typescript.
 */
export async function shellLaunch(user: RunAsUser, commandLine: string | undefined): Promise<PtyLaunch> {
  const shell = user.shell || '/bin/sh';
  const command = commandLine ?? `exec ${shellQuote(shell)} -l`;
  // /bin/sh's arguments: the gate, then script.
  const gatedScript = [
    '-c',
    gateThenExec,
    'openassist-session',
    'script',
    '-q',
    '-e',
    '-f',
    '-c',
    command,
    '/dev/null',
  ];
  // A login-like environment, as InvokeCommand's, not the agent's own (its configuration, secrets).
  const env = {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    SHELL: shell,
    PATH: defaultPath,
    TERM: terminalType,
  };
  const cwd = (await isDirectory(user.home)) ? user.home : '/';
  if (user.uid === process.getuid?.() && user.gid === process.getgid?.()) {
    return { command: '/bin/sh', args: gatedScript, cwd, env };
  }
  // setpriv --init-groups sets the supplementary groups like a login (libuv's switch drops them).
  const args = [
    `--reuid=${user.uid}`,
    `--regid=${user.gid}`,
    '--init-groups',
    '--',
    '/bin/sh',
    ...gatedScript,
  ];
  return { command: 'setpriv', args, cwd, env };
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}
