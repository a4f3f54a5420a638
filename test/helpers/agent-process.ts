import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './deadline.js';
import { binPath } from './server-process.js';
import { spawnNode } from './spawn-node.js';

export interface AgentProcess {
  readonly instanceId: string;
  readonly stateDir: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface AgentOptions {
  readonly serverUrl: string;
  readonly activationId?: string;
  readonly activationCode?: string;
  /** Reuse a state dir (a restart); a fresh one otherwise. */
  readonly stateDir?: string;
  readonly env?: Record<string, string>;
  /** Wait for the `connected as` line (default) or only for the process to start. */
  readonly waitConnected?: boolean;
  /**
   * How the activation code is passed: the environment (default, OPENASSIST_ACTIVATION_CODE) or the
   * deprecated `--activation-code` flag, which tests of its scrubbing use.
   */
  readonly codeVia?: 'env' | 'flag';
  /** More arguments after the usual ones (e.g. `--reset-journal`). */
  readonly args?: readonly string[];
  /** Starts the process under this umask (through sh), e.g. 0o022 to test the modes of its files. */
  readonly umask?: number;
  /** Runs this agent executable (dist/agent/openassist-agent-linux-<arch>) instead of `openassist agent`. */
  readonly executable?: string;
}

/** Spawns `openassist agent` as a real process; by default resolves once it is connected. */
export async function startAgentProcess(options: AgentOptions): Promise<AgentProcess> {
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'openassist-agent-')));
  const args = ['--server', options.serverUrl, '--state-dir', stateDir];
  if (options.activationId) args.push('--activation-id', options.activationId);
  const codeEnv: Record<string, string> = {};
  if (options.activationCode && options.codeVia === 'flag')
    args.push('--activation-code', options.activationCode);
  else if (options.activationCode) codeEnv.OPENASSIST_ACTIVATION_CODE = options.activationCode;
  args.push(...(options.args ?? []));
  const env = { ...process.env, ...codeEnv, ...options.env };
  const child = options.executable
    ? spawn(options.executable, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawnNode([binPath, 'agent', ...args], env, options.umask);
  let output = '';
  const collect = (chunk: Buffer) => {
    output += chunk.toString();
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let instanceId = '';
  if (options.waitConnected ?? true) {
    instanceId = await waitFor(
      'the agent to connect',
      () => {
        const connected = /connected as (mi-[0-9a-f]+)/.exec(output)?.[1];
        if (!connected && child.exitCode !== null)
          throw new Error(`agent exited (${child.exitCode}): ${output}`);
        return connected;
      },
      30_000,
    );
  }
  return {
    instanceId,
    stateDir,
    child,
    output: () => output,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const code = await exited;
      if (!options.stateDir && signal !== 'SIGKILL') await rm(stateDir, { recursive: true, force: true });
      return code;
    },
  };
}
