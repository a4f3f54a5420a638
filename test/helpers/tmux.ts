import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { waitFor } from './deadline.js';

const run = promisify(execFile);

/**
 * A real terminal for interactive tests: a detached tmux session on a private server (its own
 * socket name), running a plain local bash where tests type commands as a user would.
 */
export class Tmux {
  private constructor(
    private readonly socket: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A 100×30 window running `bash --norc` with the prompt `local$ ` and this environment. */
  static async start(env: Record<string, string>): Promise<Tmux> {
    const tmux = new Tmux(`openassist-test-${randomBytes(6).toString('hex')}`, {
      ...process.env,
      ...env,
      TERM: 'xterm-256color',
      PS1: 'local$ ',
    });
    await tmux.tmux(
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      '100',
      '-y',
      '30',
      '-s',
      'main',
      'bash --norc --noprofile',
    );
    await tmux.tmux('set-option', '-g', 'history-limit', '5000');
    return tmux;
  }

  private async tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, ...args], { env: this.env });
    return stdout;
  }

  /** Types text literally, then Enter. */
  async type(line: string): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', '-l', line);
    await this.tmux('send-keys', '-t', 'main', 'Enter');
  }

  /** Presses keys by tmux name (`C-c`, `Enter`) or types them literally with `literal`. */
  async keys(keys: string, literal = false): Promise<void> {
    await this.tmux('send-keys', '-t', 'main', ...(literal ? ['-l'] : []), keys);
  }

  /** The screen and its scrollback, wrapped lines joined. */
  screen(): Promise<string> {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-5000', '-t', 'main');
  }

  /** Waits until the screen matches, and returns the match; the screen in the error otherwise. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
    let last = '';
    try {
      return await waitFor(
        `${pattern} on the screen`,
        async () => {
          last = await this.screen();
          return pattern.exec(last) ?? undefined;
        },
        timeoutMs,
      );
    } catch (error) {
      throw new Error(`${String(error)}\n--- screen ---\n${last}`);
    }
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux('resize-window', '-t', 'main', '-x', String(columns), '-y', String(rows));
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => {});
  }
}
