import { existsSync } from 'node:fs';
import type { ContainerSockets } from '../config.js';
import type { TaskSpec } from '../protocol/messages.js';
import { runInDocker } from './docker-runner.js';
import { exceptionOutcome, type RunEvents, type RunHandle } from './runner.js';

type Target = NonNullable<TaskSpec['container']>;

/**
 * Runs a task's script in its container with the runtime its ContainerId names; without a
 * prefix, through the Docker API when its socket exists.
 */
export function runInContainer(
  target: Target,
  task: { script: string; timeoutSeconds: number; killGraceMs?: number },
  sockets: ContainerSockets,
  events: RunEvents,
): RunHandle {
  const spec = { ...task, container: target.id || target.name };
  const runtime = target.runtime ?? (existsSync(sockets.docker) ? 'docker' : undefined);
  if (runtime === 'docker') return runInDocker(sockets.docker, spec, events);
  const why = runtime
    ? `the ${runtime} runtime is not supported by this agent`
    : `no container runtime answers here (looked for the Docker API at ${sockets.docker})`;
  return { done: Promise.resolve(exceptionOutcome(new Error(why))), stop: () => undefined };
}
