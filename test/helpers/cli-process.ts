import { spawn } from 'node:child_process';
import { binPath } from './server-process.js';

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: Record<string, string | undefined>;
  /** Lines written to stdin (answers to prompts). */
  readonly input?: string;
  /** Run inside a pseudo-terminal of 40×160 (util-linux `script`), stdout and stderr merged. */
  readonly tty?: boolean;
}

const quote = (text: string): string => `'${text.replace(/'/g, "'\\''")}'`;

/** Runs the real `openassist` binary and collects what it prints. */
export function cli(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const env = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env };
  const command = options.tty
    ? spawn(
        'script',
        [
          '-qec',
          `stty rows 40 cols 160; exec ${[process.execPath, binPath, ...args].map(quote).join(' ')}`,
          '/dev/null',
        ],
        { env: { ...env, TERM: 'xterm-256color' } },
      )
    : spawn(process.execPath, [binPath, ...args], { env });
  let stdout = '';
  let stderr = '';
  command.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  command.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  command.stdin.end(options.input ?? '');
  return new Promise((resolve) => command.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Runs and parses stdout as JSON, failing with what was printed when it is not. */
export async function cliJson<T = unknown>(args: readonly string[], options: CliOptions = {}): Promise<T> {
  const result = await cli([...args, '--json'], options);
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${result.code}):\n${result.stdout}\n${result.stderr}`);
  }
}
