import { ackedBytes, type Frame, frameType, jsonFrame, terminalSize } from '../../protocol/session-frames.js';
import { InboundFlow, OutboundFlow } from './flow.js';
import { type FrameLink, protocolError, type SessionService, sessionCloseCodes } from './link.js';
import { Pty, type PtyExit } from './pty.js';
import type { PtyLaunch } from './shell-launch.js';

export interface ShellOptions {
  /** Between SIGHUP and SIGKILL when the session's processes are ended. */
  readonly killGraceMs: number;
  readonly say: (line: string) => void;
  /** Moves the shell's process out of the agent's capped cgroup before it starts. */
  readonly placeProcess?: ((pid: number) => void) | undefined;
}

/** What script may say on stderr that the agent's log keeps. */
const stderrKeptChars = 1024;

/**
 * Serves a shell on stream 0: its output out under the window, input in (acked once written),
 * resizes, and at the end the `exit` frame. The shell's session is killed when the shell exits
 * (what it left in the background) and when the socket closes first.
 */
export class ShellSession implements SessionService {
  private readonly pty: Pty;
  private readonly output: OutboundFlow;
  private readonly input: InboundFlow;
  private ending: Promise<void> | undefined;

  constructor(
    private readonly link: FrameLink,
    launch: PtyLaunch,
    private readonly options: ShellOptions,
  ) {
    this.pty = new Pty(launch, options.placeProcess);
    this.output = new OutboundFlow(0, this.pty.stdout, link);
    this.input = new InboundFlow(0, this.pty.stdin, link);
    let complaint = '';
    this.pty.stderr.on('data', (chunk: Buffer) => {
      if (complaint.length < stderrKeptChars) complaint += chunk.toString();
    });
    this.pty.started.then(
      () => this.pty.exited.then((exit) => this.shellExited(exit, complaint)),
      (error: unknown) => this.startFailed(error),
    );
  }

  receive(frame: Frame): void {
    const onTerminal = frame.stream === 0;
    switch (frame.type) {
      case frameType.data:
        if (!onTerminal || !this.input.receive(frame.payload)) protocolError(this.link);
        return;
      case frameType.ack:
        if (!onTerminal || !this.output.acked(ackedBytes(frame))) protocolError(this.link);
        return;
      case frameType.resize:
        this.pty.resize(terminalSize(frame));
        return;
      case frameType.open:
      case frameType.exit:
        // A shell session has no connections, and only the agent says the shell exited.
        protocolError(this.link);
        return;
      case frameType.close:
        // The client's input ended (a piped stdin): script passes the end on as the terminal's EOF.
        if (onTerminal) this.pty.endInput();
        return;
      default:
        // An error: the peer is going; the socket's close ends the session.
        return;
    }
  }

  end(): Promise<void> {
    this.ending ??= this.pty.kill(this.options.killGraceMs);
    return this.ending;
  }

  private async shellExited(exit: PtyExit, complaint: string): Promise<void> {
    if (exit.exitCode !== 0 && complaint.trim() !== '')
      this.options.say(`session shell: ${complaint.trim()}`);
    // What the shell left running goes with it, as on a terminal's hang-up.
    void this.end();
    // The status comes after all the output.
    await this.output.drained;
    const status =
      exit.signal === null ? { exitCode: exit.exitCode } : { exitCode: null, signal: exit.signal };
    this.link.send(jsonFrame(frameType.exit, 0, status));
    this.link.close(sessionCloseCodes.normal, 'ShellExited');
  }

  private startFailed(error: unknown): void {
    const message = `cannot start the terminal: ${error instanceof Error ? error.message : String(error)}`;
    this.options.say(`session: ${message}`);
    this.link.send(jsonFrame(frameType.error, 0, { code: 'StartFailed', message }));
    this.link.close(sessionCloseCodes.normal, 'StartFailed');
  }
}
