import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import { waitFor } from './deadline.js';

const run = promisify(execFile);

export const testImage = 'localhost/openassist-busybox:1';

// Root without CAP_SYS_RESOURCE cannot raise rlimits, and crun cannot drive hybrid cgroups: podman
// needs explicit ulimits and runc here (test-environment sheet §1).
const containersConf = `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
`;

/** podman with its own configuration, the Docker-compatible API on a private socket, and containers to run in. */
export interface Podman {
  /** The unix socket of the Docker-compatible API (for `DOCKER_HOST=unix://…`). */
  readonly socket: string;
  /** Starts a container from the test image (`--init`, no network); resolves to its 64-hex id. */
  startContainer(name: string): Promise<string>;
  podman(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** A busybox image made from the host's busybox-static, without any registry. */
async function buildImage(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const root = join(dir, 'rootfs');
  for (const sub of ['bin', 'etc', 'proc', 'sys', 'dev', 'root'])
    await mkdir(join(root, sub), { recursive: true });
  await mkdir(join(root, 'tmp'));
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile('/bin/busybox', join(root, 'bin', 'busybox'));
  const { stdout } = await run('/bin/busybox', ['--list']);
  for (const applet of stdout.split('\n').filter((name) => name && name !== 'busybox')) {
    await symlink('busybox', join(root, 'bin', applet));
  }
  await writeFile(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
  );
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  const tarball = join(dir, 'rootfs.tar');
  await run('tar', ['-C', root, '-cf', tarball, '.']);
  await run(
    'podman',
    [
      'import',
      '--change',
      'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      '--change',
      'CMD ["/bin/sleep","2147483647"]',
      tarball,
      testImage,
    ],
    { env },
  );
}

/** podman with this suite's configuration (in `dir`); builds the test image when missing. */
export async function podmanIn(dir: string): Promise<(...args: string[]) => Promise<string>> {
  const conf = join(dir, 'containers.conf');
  await writeFile(conf, containersConf);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = async (...args: string[]) => (await run('podman', args, { env })).stdout.trim();
  const hasImage = await podman('image', 'exists', testImage).then(
    () => true,
    () => false,
  );
  if (!hasImage) await buildImage(dir, env);
  return podman;
}

export async function startPodman(): Promise<Podman> {
  const dir = await mkdtemp(join(tmpdir(), 'openassist-podman-'));
  const podman = await podmanIn(dir);
  const env = { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf') };
  const socket = join(dir, 'podman.sock');
  const service: ChildProcess = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
    env,
    stdio: 'ignore',
  });
  const docker = new Docker({ socketPath: socket });
  await waitFor(
    'the podman API to answer',
    async () => {
      if (service.exitCode !== null) throw new Error(`podman system service exited (${service.exitCode})`);
      return await docker.ping().then(
        () => true,
        () => undefined,
      );
    },
    20_000,
  );
  const names: string[] = [];
  return {
    socket,
    podman,
    async startContainer(name) {
      names.push(name);
      return podman('run', '-d', '--init', '--network', 'none', '--name', name, testImage);
    },
    async stop() {
      for (const name of names) await podman('rm', '-f', '-t', '0', name).catch(() => undefined);
      service.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
