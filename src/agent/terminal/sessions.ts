import type { SessionOpen } from '../../protocol/messages.js';
import { type Frame, frameType, jsonFrame } from '../../protocol/session-frames.js';
import { currentUser, lookupUser } from '../users.js';
import { type FrameLink, protocolError, type SessionService, sessionCloseCodes } from './link.js';
import { PortForward } from './port-forward.js';
import { dialSession } from './session-socket.js';
import { shellLaunch } from './shell-launch.js';
import { ShellSession } from './shell-session.js';

export interface TerminalSessionsOptions {
  /** The channel's credentials, which the relay checks on the session socket too. */
  readonly instanceId: string;
  readonly token: string;
  readonly ca?: Buffer | undefined;
  /** The server the channel talks to now: where a session without `relayUrl` dials. */
  readonly serverUrl: () => string;
  readonly say: (line: string) => void;
  /** Moves a shell's process out of the agent's capped cgroup (resource-caps.ts), as a task's run is. */
  readonly placeProcess?: (pid: number) => void;
  readonly maxSessions?: number;
  readonly killGraceMs?: number;
  readonly connectTimeoutMs?: number;
}

/** Sessions served at once by one agent; the server's own limit per instance is lower (10). */
const defaultMaxSessions = 16;
/** Between SIGHUP and SIGKILL for a shell's processes. */
const defaultKillGraceMs = 2_000;
/** A forwarded connection not made in this time fails with ConnectTimeout. */
const defaultConnectTimeoutMs = 10_000;
/** Frames that may arrive while the session's service is still being prepared (a user lookup). */
const maxEarlyFrames = 256;

/** Starts a session's service on its open socket. */
type Starter = (link: FrameLink) => SessionService;

interface RunningSession {
  readonly link: FrameLink;
  end(): Promise<void>;
}

/**
 * The agent's terminal sessions (docs/terminal-sessions.md): each `session-open` dials the relay on
 * a socket of its own, so a session's bytes never wait behind, or hold up, the task channel.
 */
export class TerminalSessions {
  private readonly running = new Set<RunningSession>();

  constructor(private readonly options: TerminalSessionsOptions) {}

  open(order: SessionOpen): void {
    const maxSessions = this.options.maxSessions ?? defaultMaxSessions;
    // Past the limit the agent still dials, so the error frame tells the client why; past twice
    // the limit (refusals pending too) a server gone wrong gets no more dials at all.
    if (this.running.size >= 2 * maxSessions) {
      this.options.say(`session ${order.sessionId}: dropped, ${this.running.size} sessions open or refusing`);
      return;
    }
    const prepared =
      this.running.size >= maxSessions
        ? Promise.resolve(
            refuse('TooManySessions', `this agent serves at most ${maxSessions} sessions at once`),
          )
        : this.prepare(order).catch((error: unknown) =>
            refuse('StartFailed', `cannot start the session: ${String(error)}`),
          );
    this.running.add(this.run(order, prepared));
  }

  /** The agent is stopping: every session ends, its shell's processes killed. */
  async stopAll(): Promise<void> {
    const sessions = [...this.running];
    for (const session of sessions) session.link.close(sessionCloseCodes.goingAway, 'agent stopping');
    await Promise.all(sessions.map((session) => session.end()));
  }

  private async prepare(order: SessionOpen): Promise<Starter> {
    if (order.portNumber !== undefined) {
      const target = {
        host: order.targetServer || 'localhost',
        port: order.portNumber,
        connectTimeoutMs: this.options.connectTimeoutMs ?? defaultConnectTimeoutMs,
      };
      return (link) => new PortForward(link, target);
    }
    const user = order.username ? await lookupUser(order.username) : currentUser();
    if (!user) return refuse('UserNotExists', `the user ${order.username} does not exist on this machine`);
    const launch = await shellLaunch(user, order.commandLine);
    const shellOptions = {
      killGraceMs: this.options.killGraceMs ?? defaultKillGraceMs,
      say: this.options.say,
      placeProcess: this.options.placeProcess,
    };
    return (link) => new ShellSession(link, launch, shellOptions);
  }

  private run(order: SessionOpen, prepared: Promise<Starter>): RunningSession {
    let service: SessionService | undefined;
    let early: Frame[] = [];
    let ending: Promise<void> | undefined;
    const end = (): Promise<void> => {
      ending ??= (service?.end() ?? Promise.resolve()).finally(() => this.running.delete(session));
      return ending;
    };
    const socket = dialSession(
      {
        serverUrl: order.relayUrl ?? this.options.serverUrl(),
        sessionId: order.sessionId,
        instanceId: this.options.instanceId,
        token: this.options.token,
        ca: this.options.ca,
      },
      {
        opened: () => {
          void prepared.then((start) => {
            if (ending) return;
            service = start(link);
            for (const frame of early) service.receive(frame);
            early = [];
          });
        },
        frame: (frame) => {
          if (service) service.receive(frame);
          else if (early.length < maxEarlyFrames) early.push(frame);
          else protocolError(link);
        },
        closed: (why) => {
          if (why.startsWith('refused') || why.startsWith('failed'))
            this.options.say(`session ${order.sessionId}: ${why}`);
          void end();
        },
      },
    );
    // Closing ends the session at once: the socket's own close waits for the peer's answer.
    const link: FrameLink = {
      send: (frame) => socket.send(frame),
      close: (code, reason) => {
        socket.close(code, reason);
        void end();
      },
    };
    const session: RunningSession = { link, end };
    return session;
  }
}

/** A session that could not start: the error frame says why, then the socket closes. */
function refuse(code: string, message: string): Starter {
  return (link) => {
    link.send(jsonFrame(frameType.error, 0, { code, message }));
    link.close(sessionCloseCodes.normal, code);
    return { receive: () => undefined, end: async () => undefined };
  };
}
