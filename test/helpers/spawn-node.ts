import { spawn } from 'node:child_process';

/** Spawns node with `args`, under `umask` when given (sh sets it, then execs node: the same pid). */
export function spawnNode(args: readonly string[], env: NodeJS.ProcessEnv, umask?: number) {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  if (umask === undefined) return spawn(process.execPath, args, { env, stdio });
  const script = `umask ${umask.toString(8).padStart(3, '0')}; exec "$0" "$@"`;
  return spawn('/bin/sh', ['-c', script, process.execPath, ...args], { env, stdio });
}
