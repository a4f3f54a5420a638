import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../test/helpers/deadline.js';

/** The built load generator, found from here whether run from bench/ (Vitest) or dist/bench/. */
const mainPath = ((): string => {
  for (const up of ['../dist/src/agent/load/main.js', '../src/agent/load/main.js']) {
    const path = fileURLToPath(new URL(up, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('the load generator is not built: npm run build');
})();

export interface LoadProcess {
  readonly child: ChildProcess;
  readonly instanceIds: readonly string[];
  readonly output: () => string;
  /** The latest `finished M` the generator printed (it prints once a second at most). */
  finishedRuns(): number;
  /** The most memory-mode runs at once the generator printed (with `holdMs`, a pacing bound shows here). */
  mostRunning(): number;
  stop(): Promise<void>;
}

export interface LoadProcessOptions {
  readonly serverUrl: string;
  readonly activations: readonly { readonly id: string; readonly code: string }[];
  readonly count: number;
  readonly mode: 'memory' | 'spawn';
  readonly namePrefix?: string;
  /** Memory mode: how long each run lasts (default 0: it ends at once). */
  readonly holdMs?: number;
  /** How long registering and connecting every identity may take. */
  readonly timeoutMs?: number;
}

/** Starts the load generator as a process of its own; resolves once every identity is connected. */
export async function startLoadProcess(options: LoadProcessOptions): Promise<LoadProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'openassist-load-ids-'));
  const idsFile = join(dir, 'instances.json');
  const args = [
    mainPath,
    '--server',
    options.serverUrl,
    '--count',
    String(options.count),
    '--mode',
    options.mode,
    '--instances-out',
    idsFile,
    ...(options.namePrefix ? ['--name-prefix', options.namePrefix] : []),
    ...(options.holdMs ? ['--hold-ms', String(options.holdMs)] : []),
  ];
  // Through the environment: codes in the arguments would be readable by every local user (ps).
  const activations = options.activations.map((activation) => `${activation.id}:${activation.code}`);
  const child = spawn(process.execPath, args, {
    env: { ...process.env, OPENASSIST_LOAD_ACTIVATIONS: activations.join(',') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
    // Only the recent lines matter; a long run must not grow this without end.
    if (output.length > 1_000_000) output = output.slice(-100_000);
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `${options.count} load-generator identities to connect`,
      () => {
        if (child.exitCode !== null) throw new Error(`the load generator exited: ${output}`);
        return output.includes('load: ready\n') ? true : undefined;
      },
      options.timeoutMs ?? 120_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const instanceIds = JSON.parse(await readFile(idsFile, 'utf8')) as string[];
  return {
    child,
    instanceIds,
    output: () => output,
    finishedRuns: () => Number([...output.matchAll(/finished (\d+)/g)].at(-1)?.[1] ?? 0),
    mostRunning: () => Number([...output.matchAll(/most running (\d+)/g)].at(-1)?.[1] ?? 0),
    stop,
  };
}
