import { CriClient, type CriContainer, grpc, isCriError } from './cri/client.js';
import type { ContainerRunSpec } from './docker-runner.js';
import {
  defaultKillGraceMs,
  exceptionOutcome,
  exitOutcome,
  failure,
  KillSwitch,
  type RunEvents,
  type RunHandle,
  type RunOutcome,
} from './runner.js';

// The script runs as a child of a wrapper shell that records its pid in the container, so a timeout
// or stop can end the whole tree from a second exec: CRI's own ExecSync timeout kills the exec'd
// process only, and its reply waits for every holder of the output pipe.
const wrapper = 'echo $$ > "$0"; exec 2>&1; sh -c "$1"; code=$?; rm -f "$0"; exit $code';
// Signals the recorded wrapper and every descendant, leaves first.
const killTree = `
tree() { for child in $(cat /proc/$1/task/*/children 2>/dev/null); do tree $child; done; echo $1; }
pid=$(cat "$1" 2>/dev/null) || exit 0
for p in $(tree $pid); do kill -$2 $p 2>/dev/null; done
[ "$2" = KILL ] && rm -f "$1"; exit 0`;

/**
 * Runs a script in a container through the Kubernetes CRI (containerd, CRI-O) with ExecSync: `sh -c`
 * as the container's default user in its default directory. ExecSync answers once the script has
 * ended, so the output arrives in one piece at the end.
 */
export function runInCri(
  socketPath: string,
  runId: string,
  spec: ContainerRunSpec,
  events: RunEvents,
): RunHandle {
  const killSwitch = new KillSwitch();
  const client = new CriClient(socketPath);
  const done = execute(client, runId, spec, events, killSwitch)
    .catch(exceptionOutcome)
    .finally(() => client.close());
  return { done, stop: (mode) => killSwitch.request(mode === 'ProcessTree' ? 'stop-tree' : 'stop-process') };
}

/** The container a ContainerId or ContainerName names; undefined when there is none. */
async function find(client: CriClient, idOrName: string): Promise<CriContainer | undefined> {
  if (/^[0-9a-f]{64}$/.test(idOrName)) {
    try {
      return await client.status(idOrName);
    } catch (error) {
      if (isCriError(error) && error.code === grpc.status.NOT_FOUND) return undefined;
      throw error;
    }
  }
  // CRI lists cannot filter by name; a running container of that name wins over an exited one.
  const named = (await client.containers()).filter((container) => container.metadata.name === idOrName);
  return named.find((container) => container.state === 'CONTAINER_RUNNING') ?? named[0];
}

async function execute(
  client: CriClient,
  runId: string,
  spec: ContainerRunSpec,
  events: RunEvents,
  killSwitch: KillSwitch,
): Promise<RunOutcome> {
  const container = await find(client, spec.container);
  if (!container) return failure('ContainerNotExists');
  if (container.state !== 'CONTAINER_RUNNING') return failure('ContainerNotRunning');
  if (killSwitch.reason) return exitOutcome(killSwitch.close(), null);
  const pidFile = `/tmp/.openassist-${runId}.pid`;
  const signalTree = (signal: 'TERM' | 'KILL') =>
    client
      .exec(container.id, ['sh', '-c', killTree, 'openassist-kill', pidFile, signal], 10, 15_000)
      .catch(() => undefined);
  let graceTimer: NodeJS.Timeout | undefined;
  killSwitch.attach(() => {
    void signalTree('TERM');
    graceTimer = setTimeout(() => void signalTree('KILL'), spec.killGraceMs ?? defaultKillGraceMs);
  });
  const timeoutTimer = setTimeout(() => killSwitch.request('timeout'), spec.timeoutSeconds * 1000);
  events.onStart?.(undefined);
  try {
    // The runtime's own timeout and the call's deadline are backstops behind ours.
    const result = await client.exec(
      container.id,
      ['sh', '-c', wrapper, pidFile, spec.script],
      spec.timeoutSeconds + 60,
      (spec.timeoutSeconds + 90) * 1000,
    );
    if (result.stdout.length > 0) events.onOutput?.(result.stdout);
    if (result.stderr.length > 0) events.onOutput?.(result.stderr);
    return exitOutcome(killSwitch.close(), result.exit_code);
  } catch (error) {
    if (isCriError(error) && error.code === grpc.status.DEADLINE_EXCEEDED) {
      void signalTree('KILL');
      return exitOutcome(killSwitch.close() ?? 'timeout', null);
    }
    throw error;
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(graceTimer);
  }
}
