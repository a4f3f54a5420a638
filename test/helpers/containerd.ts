import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CriClient } from '../../src/agent/cri/client.js';
import { waitFor } from './deadline.js';
import { podmanIn, testImage } from './podman.js';

const run = promisify(execFile);

/** containerd with its CRI plugin on a private socket, and one pod with one running container. */
export interface Containerd {
  readonly socket: string;
  readonly containerId: string;
  /** The container's CRI name (metadata.name). */
  readonly containerName: string;
  readonly cri: CriClient;
  stop(): Promise<void>;
}

// Lowering oom_score_adj needs CAP_SYS_RESOURCE, which root lacks here: containerd must not try.
// Pods use the host network, so no CNI is needed (the empty CNI dir only logs an error at start).
const config = (dir: string) => `version = 2
root = "${dir}/root"
state = "${dir}/state"
[grpc]
  address = "${dir}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${testImage}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
`;

export async function startContainerd(containerName: string): Promise<Containerd> {
  const dir = await mkdtemp(join(tmpdir(), 'openassist-containerd-'));
  const podman = await podmanIn(dir);
  const archive = join(dir, 'image.tar');
  await podman('save', '--format', 'docker-archive', '-o', archive, testImage);
  await writeFile(join(dir, 'config.toml'), config(dir));
  const socket = join(dir, 'containerd.sock');
  const daemon: ChildProcess = spawn('containerd', ['--config', join(dir, 'config.toml')], {
    stdio: 'ignore',
  });
  const cri = new CriClient(socket);
  await waitFor(
    'containerd’s CRI to answer',
    async () => {
      if (daemon.exitCode !== null) throw new Error(`containerd exited (${daemon.exitCode})`);
      return cri.call('Version', { version: 'v1' }, 1_000).then(
        () => true,
        () => undefined,
      );
    },
    20_000,
  );
  await run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', archive]);
  const sandboxConfig = {
    metadata: { name: `${containerName}-pod`, uid: containerName, namespace: 'openassist-test', attempt: 0 },
    hostname: '', // the host network has no UTS namespace of its own to name
    log_directory: join(dir, 'logs'),
    linux: { security_context: { namespace_options: { network: 'NODE' } } },
  };
  const { pod_sandbox_id: podId } = await cri.call<{ pod_sandbox_id: string }>('RunPodSandbox', {
    config: sandboxConfig,
  });
  const { container_id: containerId } = await cri.call<{ container_id: string }>('CreateContainer', {
    pod_sandbox_id: podId,
    sandbox_config: sandboxConfig,
    config: {
      metadata: { name: containerName, attempt: 0 },
      image: { image: testImage },
      command: ['/bin/sleep', '2147483647'],
      log_path: 'container.log',
    },
  });
  await cri.call('StartContainer', { container_id: containerId });
  return {
    socket,
    containerId,
    containerName,
    cri,
    async stop() {
      // The pod first: killing containerd leaves its shims and containers running.
      await cri.call('StopPodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
      await cri.call('RemovePodSandbox', { pod_sandbox_id: podId }).catch(() => undefined);
      cri.close();
      daemon.kill('SIGTERM');
      await new Promise((resolve) =>
        daemon.exitCode !== null ? resolve(null) : daemon.once('exit', resolve),
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}
