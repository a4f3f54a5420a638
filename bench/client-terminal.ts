import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { shellLaunch } from '../src/agent/terminal/shell-launch.js';
import { currentUser } from '../src/agent/users.js';
import { ackFrame, dataFrame, decodeFrame, frameType } from '../src/protocol/session-frames.js';

/** A step of a session that takes longer fails the bench instead of hanging it. */
const stepTimeoutMs = 15_000;

/** `promise`, or a rejection naming `what` after the step timeout. */
export function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${stepTimeoutMs} ms waiting for ${what}`)),
      stepTimeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

interface Watcher {
  readonly text: string;
  seen: string;
  readonly resolve: (atMs: number) => void;
}

/**
 * A terminal as its client sees it, whatever carries it (a session socket, ssh, a local pipe):
 * input typed, and the moments output arrives, on the `performance.now()` clock.
 */
export class ClientTerminal {
  readonly firstByteAt: Promise<number>;
  readonly closed: Promise<void>;
  private markFirstByte: (atMs: number) => void = () => undefined;
  private markClosed: () => void = () => undefined;
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly input: (bytes: Buffer) => void,
    readonly kill: () => void,
  ) {
    this.firstByteAt = new Promise((resolve) => {
      this.markFirstByte = resolve;
    });
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
  }

  type(text: string): void {
    this.input(Buffer.from(text, 'latin1'));
  }

  /** When the output from now on first includes `text`. */
  next(text: string): Promise<number> {
    return new Promise((resolve) => this.watchers.add({ text, seen: '', resolve }));
  }

  /** The carrier's output, as it arrives. */
  received(chunk: Uint8Array): void {
    const atMs = performance.now();
    this.markFirstByte(atMs);
    const text = Buffer.from(chunk).toString('latin1');
    for (const watcher of this.watchers) {
      watcher.seen += text;
      if (!watcher.seen.includes(watcher.text)) continue;
      this.watchers.delete(watcher);
      watcher.resolve(atMs);
    }
  }

  /** The carrier has closed. */
  ended(): void {
    this.markClosed();
  }
}

/**
 * The client's end of a terminal session: the socket of `StartTerminalSession`'s WebSocketUrl with
 * its token, every data frame acked as soon as it is read (the agent stops after a window
 * unacked). `opened` resolves at the upgrade.
 */
export function sessionTerminal(url: string): { terminal: ClientTerminal; opened: Promise<number> } {
  const socket = new WebSocket(url);
  socket.binaryType = 'nodebuffer';
  const terminal = new ClientTerminal(
    (bytes) => socket.send(dataFrame(0, bytes)),
    () => socket.terminate(),
  );
  socket.on('message', (data: Buffer) => {
    const frame = decodeFrame(new Uint8Array(data));
    if (frame?.type !== frameType.data || frame.stream !== 0) return;
    terminal.received(frame.payload);
    socket.send(ackFrame(0, frame.payload.byteLength));
  });
  socket.on('close', () => terminal.ended());
  const opened = new Promise<number>((resolve, reject) => {
    socket.once('open', () => resolve(performance.now()));
    socket.once('error', reject);
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`session socket refused: HTTP ${response.statusCode}`)),
    );
  });
  return { terminal, opened };
}

/** The terminal type the agent gives its shells, for the other terminals too. */
const terminalType = 'xterm-256color';

/** `ssh -tt` to the loopback sshd (`bench` in `sshConfig`): root's login shell on a pty of sshd's. */
export function sshTerminal(sshConfig: string): ClientTerminal {
  const child = spawn('ssh', ['-tt', '-F', sshConfig, 'bench', 'exec "$SHELL" -l'], {
    env: { ...process.env, TERM: terminalType },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const terminal = new ClientTerminal(
    (bytes) => child.stdin.write(bytes),
    () => child.kill('SIGKILL'),
  );
  child.stdout.on('data', (chunk: Buffer) => terminal.received(chunk));
  child.on('close', () => terminal.ended());
  return terminal;
}

/**
 * The agent's own shell launch (`script` around the login shell of the user this process runs
 * as), spawned here with no session around it: the part of a session's start that is the shell's.
 */
export async function localShellTerminal(): Promise<ClientTerminal> {
  const launch = await shellLaunch(currentUser(), undefined);
  const child = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    // fd 3: the go script waits for (shell-launch.ts), given at once here.
    stdio: ['pipe', 'pipe', 'ignore', 'pipe'],
  });
  const [stdin, stdout, , gate] = child.stdio;
  if (!stdin || !stdout || !gate || !('end' in gate)) throw new Error('the shell launch has no pipes');
  gate.end('go\n');
  const terminal = new ClientTerminal(
    (bytes) => stdin.write(bytes),
    () => child.kill('SIGKILL'),
  );
  stdout.on('data', (chunk: Buffer) => terminal.received(chunk));
  child.on('close', () => terminal.ended());
  return terminal;
}
