import { Writable } from 'node:stream';
import Docker from 'dockerode';
import {
  defaultKillGraceMs,
  exceptionOutcome,
  exitOutcome,
  failure,
  KillSwitch,
  maxTimerMs,
  type RunEvents,
  type RunHandle,
  type RunOutcome,
} from './runner.js';
import { signal } from './runner-process-group.js';

export interface ContainerRunSpec {
  readonly script: string;
  readonly timeoutSeconds: number;
  readonly killGraceMs?: number;
  /** A container id (64 hex) or name. */
  readonly container: string;
}

// Dups stderr onto stdout before the script starts, so both arrive merged in write order.
const mergedShell = ['sh', '-c', 'exec 2>&1; exec "$@"', 'openassist-exec', 'sh', '-c'];
// After the output ends, the runtime may take a moment to record the exec's exit code.
const exitCodeWaitMs = 2_000;

/**
 * Runs a script in a container through the Docker Engine API (Docker, or podman's compatible
 * service) on a unix socket: `sh -c` as the container's default user in its default directory.
 * The API cannot kill an exec, so a timeout or stop signals the exec's process group through the
 * host pid that exec inspection reports.
 */
export function runInDocker(socketPath: string, spec: ContainerRunSpec, events: RunEvents): RunHandle {
  const killSwitch = new KillSwitch();
  const done = execute(new Docker({ socketPath }), spec, events, killSwitch).catch(exceptionOutcome);
  return { done, stop: (mode) => killSwitch.request(mode === 'ProcessTree' ? 'stop-tree' : 'stop-process') };
}

/** The HTTP status of a Docker API error, when it carries one. */
const statusOf = (error: unknown): number | undefined =>
  typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : undefined;

async function execute(
  docker: Docker,
  spec: ContainerRunSpec,
  events: RunEvents,
  killSwitch: KillSwitch,
): Promise<RunOutcome> {
  const container = docker.getContainer(spec.container);
  let running: boolean;
  try {
    running = (await container.inspect()).State.Running;
  } catch (error) {
    if (statusOf(error) === 404) return failure('ContainerNotExists');
    throw error;
  }
  if (!running) return failure('ContainerNotRunning');
  if (killSwitch.reason) return exitOutcome(killSwitch.close(), null);
  const exec = await container.exec({
    Cmd: [...mergedShell, spec.script],
    AttachStdout: true,
    AttachStderr: true,
  });
  const stream = await exec.start({ hijack: false, stdin: false, Detach: false, Tty: false });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      events.onOutput?.(chunk);
      callback();
    },
  });
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
  docker.modem.demuxStream(stream, sink, sink);
  const pid = (await exec.inspect()).Pid;
  const hostPid = pid > 0 ? pid : undefined;
  events.onStart?.(hostPid);

  let graceTimer: NodeJS.Timeout | undefined;
  killSwitch.attach((reason) => {
    if (hostPid === undefined) return;
    const target = reason === 'stop-process' ? hostPid : -hostPid;
    signal(target, 'SIGTERM');
    graceTimer = setTimeout(() => signal(target, 'SIGKILL'), spec.killGraceMs ?? defaultKillGraceMs);
  });
  const timeoutTimer = setTimeout(
    () => killSwitch.request('timeout'),
    Math.min(spec.timeoutSeconds * 1000, maxTimerMs),
  );
  try {
    await ended;
  } finally {
    clearTimeout(timeoutTimer);
  }
  const reason = killSwitch.close();
  const exitCode = await exitCodeOf(exec);
  clearTimeout(graceTimer);
  return exitOutcome(reason, exitCode);
}

async function exitCodeOf(exec: Docker.Exec): Promise<number | null> {
  const deadline = Date.now() + exitCodeWaitMs;
  for (let delayMs = 5; ; delayMs = Math.min(delayMs * 2, 100)) {
    const info = await exec.inspect();
    if (!info.Running) return info.ExitCode ?? null;
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
