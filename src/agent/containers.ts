import { existsSync } from 'node:fs';
import type { ContainerSockets } from '../config.js';
import type { TaskSpec } from '../protocol/messages.js';
import { exceptionOutcome, type RunEvents, type RunHandle } from './runner.js';

type Target = NonNullable<TaskSpec['container']>;

/** The socket of the runtime the ContainerId names; without a prefix, the first that exists (Docker API first). */
function pickRuntime(
  target: Target,
  sockets: ContainerSockets,
): { api: 'docker' | 'cri'; socket: string } | undefined {
  switch (target.runtime) {
    case 'docker':
      return { api: 'docker', socket: sockets.docker };
    case 'containerd':
      return { api: 'cri', socket: sockets.containerd };
    case 'cri-o':
      return { api: 'cri', socket: sockets.crio };
    default: {
      const candidates = [
        { api: 'docker', socket: sockets.docker },
        { api: 'cri', socket: sockets.containerd },
        { api: 'cri', socket: sockets.crio },
      ] as const;
      return candidates.find((candidate) => existsSync(candidate.socket));
    }
  }
}

/** Runs a task's script in its container, through the Docker Engine API or the CRI. */
export function runInContainer(
  target: Target,
  runId: string,
  task: { script: string; timeoutSeconds: number; killGraceMs?: number },
  sockets: ContainerSockets,
  events: RunEvents,
): RunHandle {
  const spec = { ...task, container: target.id || target.name };
  const runtime = pickRuntime(target, sockets);
  if (runtime?.api === 'docker') {
    const socket = runtime.socket;
    return lazily(async () => (await import('./docker-runner.js')).runInDocker(socket, spec, events));
  }
  if (runtime?.api === 'cri') {
    const socket = runtime.socket;
    return lazily(async () => (await import('./cri-runner.js')).runInCri(socket, runId, spec, events));
  }
  const why = `no container runtime answers here (looked for ${sockets.docker}, ${sockets.containerd} and ${sockets.crio})`;
  return { done: Promise.resolve(exceptionOutcome(new Error(why))), stop: () => undefined };
}

/**
 * A run whose runner module is loaded on first use: the Docker and CRI clients (dockerode, gRPC)
 * would otherwise double an idle agent's memory on machines that never run in containers.
 */
function lazily(start: () => Promise<RunHandle>): RunHandle {
  const handle = start();
  return {
    done: handle.then((started) => started.done, exceptionOutcome),
    stop: (mode) => {
      handle.then((started) => started.stop(mode)).catch(() => undefined);
    },
  };
}
