import type { RawData, WebSocket } from 'ws';
import type { ClosedReason, SessionEnd, TerminalSession } from '../domain/terminal-session.js';
import {
  ackedBytes,
  decodeFrame,
  type Frame,
  frameJson,
  frameType,
  sessionLimits,
} from '../protocol/session-frames.js';
import { type RecordSink, SessionRecorder } from './session-recorder.js';

export interface RelayTimes {
  readonly idleTimeoutMs: number;
  readonly maxDurationMs: number;
  /** How long the agent has to dial back. */
  readonly agentDialMs: number;
  readonly recordingMaxBytes: number;
}

export interface RelayedSessionDeps {
  readonly times: RelayTimes;
  readonly record: RecordSink;
  /** Stores the end (once per session); the relay closes the sockets itself. */
  readonly ended: (end: SessionEnd) => Promise<void>;
  readonly onError: (error: unknown, what: string) => void;
}

type Side = 'client' | 'agent';

const maxTimerMs = 2 ** 31 - 1;
// Frames from the client queued until the agent joins: data is bounded by the windows; the rest by count.
const maxQueuedFrames = 1024;
// What one side's socket may hold unsent: every stream's window, and room for control frames.
const maxBufferedBytes = (sessionLimits.maxStreams + 1) * sessionLimits.windowBytes + 1024 * 1024;
// Streams whose credit is tracked at once, per direction: the open streams, with room for closing ones.
const maxTrackedStreams = 2 * (sessionLimits.maxStreams + 1);

/** The frame types each side may send. */
const allowed: Record<Side, ReadonlySet<number>> = {
  client: new Set([
    frameType.data,
    frameType.ack,
    frameType.open,
    frameType.close,
    frameType.resize,
    frameType.error,
  ]),
  agent: new Set([
    frameType.data,
    frameType.ack,
    frameType.open,
    frameType.close,
    frameType.exit,
    frameType.error,
  ]),
};

/**
 * One session relayed by this node: frames between the client's and the agent's sockets as they
 * are, each direction's data held to its window per stream (a peer past it is cut off), the
 * terminal's output (and input, when asked) recorded, the idle and duration limits kept.
 */
export class RelayedSession {
  agent: WebSocket | undefined;
  private readonly queued: Uint8Array[] = [];
  /** Data bytes in flight, unacknowledged, per direction and stream. */
  private readonly inFlight: Record<Side, Map<number, number>> = { client: new Map(), agent: new Map() };
  private readonly output: SessionRecorder;
  private readonly input: SessionRecorder | undefined;
  private lastActivityMs = Date.now();
  private readonly timers: NodeJS.Timeout[] = [];
  private exit: { exitCode: number | null } | undefined;
  private failure: { code: string; message: string } | undefined;
  private done = false;
  private agentReserved = false;
  /** Resolves once the end is stored. */
  private stored: Promise<void> = Promise.resolve();

  constructor(
    readonly session: TerminalSession,
    readonly client: WebSocket,
    private readonly deps: RelayedSessionDeps,
  ) {
    const recorder = (direction: 'o' | 'i', paused: () => WebSocket | undefined) =>
      new SessionRecorder(
        direction,
        deps.record,
        deps.times.recordingMaxBytes,
        (error) => deps.onError(error, 'recording a session'),
        () => paused()?.resume(),
      );
    this.output = recorder('o', () => this.agent);
    this.input = session.recordInput ? recorder('i', () => this.client) : undefined;
    client.on('message', (data, isBinary) => this.receive('client', data, isBinary));
    client.on('close', () => this.finish({ reason: 'ClientClosed' }));
    client.on('error', () => this.finish({ reason: 'ClientClosed' }));
    this.timer(
      () => this.finish({ reason: 'AgentNotConnected' }),
      deps.times.agentDialMs,
      () => !this.agent,
    );
    this.timer(() => this.finish({ reason: 'MaxDurationExceeded' }), deps.times.maxDurationMs);
    this.watchIdle();
  }

  get instanceId(): string {
    return this.session.instanceId;
  }

  /** Takes the one agent place: false when an agent took it before. */
  reserveAgent(): boolean {
    if (this.agentReserved || this.done) return false;
    this.agentReserved = true;
    return true;
  }

  /** The agent dialed back: relay what the client sent meanwhile. */
  attachAgent(agent: WebSocket): void {
    if (this.done) {
      agent.close(1000, 'session ended');
      return;
    }
    this.agent = agent;
    agent.on('message', (data, isBinary) => this.receive('agent', data, isBinary));
    agent.on('close', () => this.finish(this.agentEnd()));
    agent.on('error', () => this.finish(this.agentEnd()));
    for (const frame of this.queued.splice(0)) agent.send(frame);
  }

  /** Ends the session now (EndTerminalSession, a limit, the server stopping); resolves once the end is stored. */
  end(end: SessionEnd): Promise<void> {
    this.finish(end);
    return this.stored;
  }

  private receive(from: Side, data: RawData, isBinary: boolean): void {
    if (this.done) return;
    const bytes = isBinary && Buffer.isBuffer(data) ? data : undefined;
    const frame = bytes && decodeFrame(bytes);
    if (!bytes || !frame || !allowed[from].has(frame.type) || !this.account(from, frame)) {
      this.finish({
        reason: 'ProtocolError',
        detail: `The ${from} sent a malformed frame or data past its window.`,
      });
      return;
    }
    if (frame.type === frameType.data) {
      this.lastActivityMs = Date.now();
      if (frame.stream === 0 && this.session.portNumber === 0) {
        const recorder = from === 'agent' ? this.output : this.input;
        recorder?.add(frame.payload);
        if (recorder?.backedUp) (from === 'agent' ? this.agent : this.client)?.pause();
      }
    } else if (from === 'agent' && frame.stream === 0) {
      this.note(frame);
    }
    this.forward(from === 'client' ? 'agent' : 'client', bytes);
  }

  /** Counts a data frame against its window, an ack against the other direction; false past a bound. */
  private account(from: Side, frame: Frame): boolean {
    if (frame.type === frameType.data) {
      const flights = this.inFlight[from];
      const now = (flights.get(frame.stream) ?? 0) + frame.payload.byteLength;
      if (now > sessionLimits.windowBytes) return false;
      if (!flights.has(frame.stream) && flights.size >= maxTrackedStreams) return false;
      flights.set(frame.stream, now);
    } else if (frame.type === frameType.ack) {
      // An ack from one side returns credit of data the other side sent.
      const flights = this.inFlight[from === 'client' ? 'agent' : 'client'];
      const left = (flights.get(frame.stream) ?? 0) - ackedBytes(frame);
      if (left < 0) return false;
      if (left === 0) flights.delete(frame.stream);
      else flights.set(frame.stream, left);
    }
    return true;
  }

  /** The shell's exit status, or why the agent could not serve the session. */
  private note(frame: Frame): void {
    const value = frameJson(frame);
    if (frame.type === frameType.exit) {
      const code = value?.exitCode;
      this.exit = { exitCode: typeof code === 'number' && Number.isSafeInteger(code) ? code : null };
    } else if (frame.type === frameType.error) {
      const text = (field: unknown) => (typeof field === 'string' ? field.slice(0, 256) : '');
      this.failure = { code: text(value?.code), message: text(value?.message) };
    }
  }

  private agentEnd(): SessionEnd {
    if (this.exit) return { reason: 'ShellExited', exitCode: this.exit.exitCode };
    if (this.failure) {
      const reason: ClosedReason = this.failure.code === 'UserNotExists' ? 'UserNotExists' : 'StartFailed';
      return { reason, detail: `${this.failure.code}: ${this.failure.message}` };
    }
    return { reason: 'AgentDisconnected' };
  }

  private forward(to: Side, bytes: Buffer): void {
    const socket = to === 'agent' ? this.agent : this.client;
    if (!socket) {
      if (this.queued.length >= maxQueuedFrames) {
        this.finish({
          reason: 'ProtocolError',
          detail: 'The client sent too many frames before the agent joined.',
        });
        return;
      }
      this.queued.push(bytes);
      return;
    }
    // Windows bound the data; only a flood of control frames at a peer that reads nothing gets here.
    if (socket.bufferedAmount > maxBufferedBytes) {
      this.finish({ reason: 'ProtocolError', detail: `The ${to} does not read what it is sent.` });
      return;
    }
    socket.send(bytes);
  }

  private watchIdle(): void {
    const check = () => {
      const idleMs = Date.now() - this.lastActivityMs;
      if (idleMs >= this.deps.times.idleTimeoutMs) this.finish({ reason: 'IdleTimeout' });
      else this.timer(check, this.deps.times.idleTimeoutMs - idleMs);
    };
    this.timer(check, this.deps.times.idleTimeoutMs);
  }

  private timer(run: () => void, ms: number, when: () => boolean = () => true): void {
    // setTimeout fires at once past 2^31 - 1 ms (24.8 days): a longer limit waits in steps.
    const step = Math.min(ms, maxTimerMs);
    const timer = setTimeout(() => {
      if (this.done) return;
      if (step < ms) this.timer(run, ms - step, when);
      else if (when()) run();
    }, step);
    timer.unref();
    this.timers.push(timer);
  }

  /**
   * Once: both sockets closed with the reason, the recording flushed, then the end stored (so a
   * reader who sees the session ended finds its whole recording).
   */
  private finish(end: SessionEnd): void {
    if (this.done) return;
    this.done = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.stored = Promise.all([this.output.flush(), this.input?.flush()])
      .catch(() => undefined)
      .then(() => this.deps.ended(end));
    for (const socket of [this.client, this.agent]) {
      if (socket && socket.readyState <= 1) socket.close(1000, end.reason);
    }
  }
}
