import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { type WebSocket, WebSocketServer } from 'ws';
import { rawErrorResponse } from '../api/error-response.js';
import { ApiError } from '../domain/errors.js';
import { newRequestId } from '../domain/ids.js';
import { type SessionEnd, sessionLimitsApi, type TerminalSession } from '../domain/terminal-session.js';
import { type SessionOpen, sessionsPath } from '../protocol/messages.js';
import { frameHeaderBytes, sessionLimits } from '../protocol/session-frames.js';
import type { AgentSessions } from '../service/agent-sessions.js';
import { anonymous, sessionIdentity } from '../service/audit-events.js';
import type { AuditTrail } from '../service/audit-trail.js';
import {
  clientSessionPath,
  type SessionRelays,
  type TerminalSessionService,
} from '../service/terminal-sessions.js';
import type { NodeBus } from './node-bus.js';
import { RelayedSession, type RelayTimes } from './relayed-session.js';

export interface SessionRelayDeps {
  readonly sessions: TerminalSessionService;
  readonly agents: Pick<AgentSessions, 'admitChannel'>;
  /** Sends `session-open` to the agent, held by this node or another (which gets `relayUrl` to dial). */
  readonly openAtAgent: (instanceId: string, message: SessionOpen, relayUrl: string | undefined) => void;
  readonly bus: NodeBus;
  readonly logger: FastifyBaseLogger;
  readonly times: Omit<RelayTimes, 'agentDialMs'>;
  /** Records every client's attempt to open a session (docs/audit.md); none: not recorded. */
  readonly audit?: AuditTrail;
}

function refuse(request: IncomingMessage, socket: Duplex, error: ApiError): void {
  socket.end(rawErrorResponse(error, { requestId: newRequestId(), host: request.headers.host }));
}

const bearer = (request: IncomingMessage): string =>
  /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';

// An agent dialing back from a URL it was not told (a bare `0.0.0.0` listen) reaches its own server.
const unspecifiedHosts = /^(https?):\/\/(0\.0\.0\.0|\[::\]|\[::0\])(:\d+)?$/;

/**
 * The terminal sessions relayed by this node (docs/terminal-sessions.md): takes the clients'
 * WebSockets (their one-time token), asks their agents to dial back, takes the agents' sockets
 * and relays between the two; ends sessions on EndTerminalSession from any node.
 */
export class SessionRelay implements SessionRelays {
  private readonly live = new Map<string, RelayedSession>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    maxPayload: frameHeaderBytes + sessionLimits.maxPayloadBytes,
    perMessageDeflate: false,
  });
  /** The URL agents dial back to reach this node; undefined: their own server URL. */
  private dialBackUrl: string | undefined;

  constructor(private readonly deps: SessionRelayDeps) {}

  /** This node's URL, once it listens (`OPENASSIST_PUBLIC_URL` wins). */
  setNodeUrl(url: string): void {
    this.dialBackUrl = unspecifiedHosts.test(url) ? undefined : url;
  }

  get count(): number {
    return this.live.size;
  }

  /** Handles an upgrade to a session path; false when the path is not one. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(request.url ?? '/', 'http://relay');
    if (url.pathname.startsWith(clientSessionPath)) {
      this.admitClient(
        request,
        socket,
        head,
        url.pathname.slice(clientSessionPath.length),
        url.searchParams.get('token') ?? bearer(request),
      );
      return true;
    }
    if (url.pathname.startsWith(sessionsPath)) {
      this.admitAgent(request, socket, head, url.pathname.slice(sessionsPath.length));
      return true;
    }
    return false;
  }

  /** EndTerminalSession (already stored): ends it here, or tells the node that relays it. */
  endSession(sessionId: string, end: SessionEnd): void {
    const relayed = this.live.get(sessionId);
    if (relayed) relayed.end(end);
    else this.deps.bus.publish({ kind: 'session-end', sessionId, reason: end.reason });
  }

  /** Another node ended a session this node may relay. */
  endLocal(sessionId: string, end: SessionEnd): void {
    this.live.get(sessionId)?.end(end);
  }

  /** The server stops: every session it relays ends `ServerShutdown`, stored before it resolves. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.live.values()].map((relayed) => relayed.end({ reason: 'ServerShutdown' })));
  }

  private admitClient(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    sessionId: string,
    token: string,
  ): void {
    const clientIp = request.socket.remoteAddress ?? '';
    this.deps.sessions.claim(sessionId, token, this.deps.bus.nodeId, clientIp).then(
      (session) =>
        this.auditOpen(request, sessionId, session).then(
          () => this.admitClaimed(request, socket, head, session),
          (unrecorded: ApiError) => {
            if (session) void this.deps.sessions.ended(session.id, { reason: 'ClientClosed' });
            refuse(request, socket, unrecorded);
          },
        ),
      (error: unknown) => {
        this.deps.logger.error({ err: error }, 'claiming a session failed');
        refuse(request, socket, new ApiError('ServiceUnavailable'));
      },
    );
  }

  /** The record of a client's attempt to open a session, stored before it is answered. */
  private auditOpen(
    request: IncomingMessage,
    sessionId: string,
    session: TerminalSession | undefined,
  ): Promise<void> {
    if (!this.deps.audit) return Promise.resolve();
    return this.deps.audit.recordCall({
      timeMs: Date.now(),
      name: 'OpenTerminalSession',
      source: 'session',
      serviceName: 'ecs',
      apiVersion: '',
      requestId: newRequestId(),
      regionId: session?.regionId ?? '',
      sourceIp: request.socket.remoteAddress ?? '',
      userAgent: String(request.headers['user-agent'] ?? ''),
      identity: session ? sessionIdentity(session) : anonymous(''),
      // The token is the credential: never recorded, not even digested.
      params: new Map([['SessionId', sessionId.slice(0, 64)]]),
      extraResourceIds: session ? [session.instanceId] : [],
      errorCode: session ? '' : 'InvalidSecurityToken',
      errorMessage: session ? '' : 'The session token is not valid, used, or expired.',
    });
  }

  private admitClaimed(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    session: TerminalSession | undefined,
  ): void {
    if (!session) {
      refuse(request, socket, new ApiError('InvalidSecurityToken'));
      return;
    }
    if (socket.destroyed) {
      void this.deps.sessions.ended(session.id, { reason: 'ClientClosed' });
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.relay(session, ws));
  }

  private relay(session: TerminalSession, client: WebSocket): void {
    const log = this.deps.logger.child({ sessionId: session.id, instanceId: session.instanceId });
    const relayed = new RelayedSession(session, client, {
      times: { ...this.deps.times, agentDialMs: sessionLimitsApi.agentDialMs },
      record: (direction, offset, data, dropped) =>
        this.deps.sessions.record(session.id, direction, offset, data, dropped),
      ended: async (end) => {
        this.live.delete(session.id);
        log.info({ closedReason: end.reason }, 'session ended');
        await this.deps.sessions
          .ended(session.id, end)
          .catch((error: unknown) => log.error({ err: error }, 'storing a session end failed'));
      },
      onError: (error, what) => log.error({ err: error }, `${what} failed`),
    });
    this.live.set(session.id, relayed);
    log.info('session client connected');
    this.deps.openAtAgent(
      session.instanceId,
      {
        type: 'session-open',
        sessionId: session.id,
        ...(session.username !== '' && { username: session.username }),
        ...(session.commandLine !== '' && { commandLine: session.commandLine }),
        ...(session.portNumber !== 0 && { portNumber: session.portNumber }),
        ...(session.targetServer !== '' && { targetServer: session.targetServer }),
      },
      this.dialBackUrl,
    );
  }

  private admitAgent(request: IncomingMessage, socket: Duplex, head: Buffer, sessionId: string): void {
    const instanceId = String(request.headers['x-openassist-instance-id'] ?? '');
    const address = request.socket.remoteAddress ?? '';
    this.deps.agents.admitChannel(instanceId, bearer(request), address).then(
      (admission) => {
        if (!('admitted' in admission)) return refuse(request, socket, new ApiError('InvalidToken.Agent'));
        const relayed = this.live.get(sessionId);
        // Only the session's own instance, only while this node waits for it, only once.
        if (!relayed || relayed.instanceId !== admission.admitted.id || !relayed.reserveAgent()) {
          return refuse(request, socket, new ApiError('InvalidSessionId.NotFound'));
        }
        this.wss.handleUpgrade(request, socket, head, (ws) => {
          relayed.attachAgent(ws);
          this.deps.sessions
            .connected(sessionId)
            .catch((error: unknown) =>
              this.deps.logger.error({ err: error, sessionId }, 'marking a session connected failed'),
            );
        });
      },
      (error: unknown) => {
        this.deps.logger.error({ err: error }, 'agent authentication failed');
        refuse(request, socket, new ApiError('ServiceUnavailable'));
      },
    );
  }
}
