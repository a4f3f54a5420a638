import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from './deadline.js';

const run = promisify(execFile);

/**
 * A root directory for `chroot` made of this machine's own files, for "a Linux machine without
 * Node.js": what the caller puts in (e.g. the agent's executable), the shared libraries `ldd` lists
 * for each executable file among them, busybox (Debian's busybox-static) with its applets as links,
 * the CA bundle, minimal /etc files, device nodes and an empty /proc and /tmp. No registry, no image.
 *
 * Commands run through `unshare --mount`: /proc is mounted in a mount namespace of their own, so
 * nothing is mounted on the host and nothing stays mounted once the last of them has exited.
 */
export interface TestRoot {
  /** The root's path on the host. */
  readonly root: string;
  /** Starts `command` (a path inside the root) as root in the chroot; the child's pid is the command's own. */
  spawn(command: string, args?: readonly string[], options?: TestRootSpawnOptions): ChildProcess;
  /** Runs `command` to its end: its exit status and output. */
  run(command: string, args?: readonly string[], options?: TestRootSpawnOptions): Promise<TestRootResult>;
  /** The pids (on the host) of every process whose root is this one, whoever started them. */
  processes(): Promise<number[]>;
  /** Kills every process inside with SIGKILL, waits for them to go, and removes the directory. */
  dispose(): Promise<void>;
}

export interface TestRootSpawnOptions {
  /** Added to the minimal environment (PATH, HOME); the host's environment is not passed. */
  readonly env?: Record<string, string>;
  /** The working directory inside the root (default /). */
  readonly cwd?: string;
}

export interface TestRootResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface TestRootOptions {
  /** Files to put in: path inside the root → file on the host (its mode is kept, symlinks followed). */
  readonly files?: Record<string, string>;
  /** Host executables whose shared libraries go in without them (an installer test downloads the executable). */
  readonly librariesOf?: readonly string[];
}

const busybox = '/bin/busybox';
const caBundle = '/etc/ssl/certs/ca-certificates.crt';
const basePath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Character devices the programs expect, with their Linux major/minor numbers (devices.txt). */
const devices: readonly [string, number, number, number][] = [
  ['null', 1, 3, 0o666],
  ['zero', 1, 5, 0o666],
  ['full', 1, 7, 0o666],
  ['random', 1, 8, 0o666],
  ['urandom', 1, 9, 0o666],
  ['tty', 5, 0, 0o666],
];

const etcFiles: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  'etc/group': 'root:x:0:\nnogroup:x:65534:\n',
  'etc/hosts': '127.0.0.1 localhost\n::1 localhost\n',
  'etc/nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files dns\n',
  'etc/os-release': 'ID=openassist-test-root\nNAME="test root"\nVERSION_ID="1"\n',
};

/** The shared libraries (and the dynamic loader) `ldd` lists for `file`; none for a static or non-ELF file. */
export async function sharedLibraries(file: string): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('ldd', [file]));
  } catch {
    return []; // "not a dynamic executable", or not an executable at all
  }
  return stdout
    .split('\n')
    .map((line) => /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line)?.[1])
    .filter((path): path is string => path !== undefined);
}

async function put(root: string, inside: string, hostFile: string): Promise<void> {
  const target = join(root, inside);
  await mkdir(dirname(target), { recursive: true });
  await copyFile(hostFile, target);
}

/** busybox at /bin/busybox and a link for each of its applets where busybox says they live. */
async function installBusybox(root: string): Promise<void> {
  if (!existsSync(busybox))
    throw new Error(`${busybox} is missing: install Debian's busybox-static (.ci/run does)`);
  await put(root, busybox, busybox);
  await chmod(join(root, busybox), 0o755);
  const { stdout } = await run(busybox, ['--list-full']);
  for (const applet of stdout.split('\n').filter(Boolean)) {
    const link = join(root, applet);
    await mkdir(dirname(link), { recursive: true });
    await symlink(busybox, link).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  }
}

async function makeDevices(root: string): Promise<void> {
  const dev = join(root, 'dev');
  await mkdir(dev, { recursive: true });
  for (const [name, major, minor, mode] of devices) {
    await run('mknod', ['-m', mode.toString(8), join(dev, name), 'c', String(major), String(minor)]);
  }
  await symlink('/proc/self/fd', join(dev, 'fd'));
  for (const [fd, name] of ['stdin', 'stdout', 'stderr'].entries()) {
    await symlink(`/proc/self/fd/${fd}`, join(dev, name));
  }
  await mkdir(join(dev, 'shm'));
  await chmod(join(dev, 'shm'), 0o1777);
}

/** Builds the root in `dir` (which must be empty or absent). */
export async function createTestRoot(dir: string, options: TestRootOptions = {}): Promise<TestRoot> {
  const root = dir.replace(/\/+$/, '');
  for (const sub of ['proc', 'root', 'run', 'var/tmp', 'usr/local/bin']) {
    await mkdir(join(root, sub), { recursive: true });
  }
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await installBusybox(root);
  await makeDevices(root);
  for (const [file, text] of Object.entries(etcFiles)) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), text);
  }
  await put(root, caBundle, caBundle);
  const libraries = new Set<string>();
  for (const [inside, hostFile] of Object.entries(options.files ?? {})) {
    await put(root, inside, hostFile);
    for (const library of await sharedLibraries(hostFile)) libraries.add(library);
  }
  for (const hostFile of options.librariesOf ?? []) {
    for (const library of await sharedLibraries(hostFile)) libraries.add(library);
  }
  for (const library of libraries) await put(root, library, library);

  const children = new Set<ChildProcess>();
  const spawnInside = (command: string, args: readonly string[] = [], opts: TestRootSpawnOptions = {}) => {
    // Host tools set the stage (mount, chroot); exec keeps one pid from unshare to the command.
    const stage = 'mount -t proc proc "$0/proc" && exec chroot "$0" /bin/sh -c \'cd "$0" && exec "$@"\' "$@"';
    const child = spawn(
      'unshare',
      ['--mount', '--', '/bin/sh', '-c', stage, root, opts.cwd ?? '/', command, ...args],
      {
        env: { PATH: basePath, HOME: '/root', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.add(child);
    child.on('exit', () => children.delete(child));
    return child;
  };

  const processes = async (): Promise<number[]> => {
    const pids: number[] = [];
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const where = await readlink(`/proc/${entry}/root`).catch(() => '');
      if (where === root) pids.push(Number(entry));
    }
    return pids;
  };

  return {
    root,
    spawn: spawnInside,
    processes,
    async run(command, args = [], opts = {}) {
      const child = spawnInside(command, args, opts);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
      return { status, stdout, stderr };
    },
    async dispose() {
      for (const child of children) child.kill('SIGKILL');
      await waitFor(
        'the processes in the test root to end',
        async () => {
          const left = await processes();
          for (const pid of left) {
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          return left.length === 0 && children.size === 0 ? true : undefined;
        },
        10_000,
      );
      await rm(root, { recursive: true, force: true });
    },
  };
}
