import { createHash } from 'node:crypto';
import { minimumAgentVersion, upgradeNeeded } from '../domain/agent-features.js';
import { ApiError } from '../domain/errors.js';
import { newSessionId, newSessionToken } from '../domain/ids.js';
import type { Page, PageRequest } from '../domain/paging.js';
import {
  checkSessionCount,
  type RecordingDirection,
  type SessionEnd,
  type SessionLimits,
  type StartSessionRequest,
  sessionLimitsApi,
  type TerminalSession,
  validateStartSession,
} from '../domain/terminal-session.js';
import type { AccessKey, Store } from '../store/store.js';
import type { SettingService } from './settings.js';

/** Where a client's WebSocket lands: the relay of the node it reached (dispatch/session-relay.ts). */
export interface SessionRelays {
  /** Ends the session on whichever node relays it (this one, or another through the node bus). */
  endSession(sessionId: string, end: SessionEnd): void;
}

export interface StartedSession {
  readonly sessionId: string;
  readonly webSocketUrl: string;
  readonly securityToken: string;
}

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

// A recording page is at most this many bytes (DescribeTerminalSessionRecording MaxBytes).
export const maxRecordingPageBytes = 1024 * 1024;

/** StartTerminalSession, DescribeTerminalSessions, EndTerminalSession, and what the relay stores. */
export class TerminalSessionService {
  private relays: SessionRelays | undefined;

  constructor(
    private readonly store: Store,
    private readonly settings: SettingService,
    private readonly nowMs: () => number,
    private readonly limits: SessionLimits,
    /** `wss` when the server serves TLS. */
    private readonly webSocketScheme: 'ws' | 'wss',
  ) {}

  /** The relays are built after the services (they need them): wired by the composition root. */
  attachRelays(relays: SessionRelays): void {
    this.relays = relays;
  }

  async start(
    regionId: string,
    accessKey: Pick<AccessKey, 'id' | 'description'>,
    request: StartSessionRequest,
    host: string,
  ): Promise<StartedSession> {
    const spec = validateStartSession(request);
    const [instance] = await this.store.instances.getMany(regionId, [spec.instanceId]);
    if (!instance)
      throw new ApiError(
        'InvalidInstance.NotFound',
        `Instance ${spec.instanceId.slice(0, 64)} is not registered.`,
      );
    const config = await this.settings.sessionManager();
    if (!config.sessionManagerEnabled) throw new ApiError('InvalidOperation.SessionManagerDisabled');
    if (instance.osType !== 'linux') {
      throw new ApiError('IncorrectInstanceStatus', 'Sessions are served on Linux instances only.');
    }
    if (!instance.connected) {
      throw new ApiError('IncorrectInstanceStatus', `The agent of ${instance.id} is not connected.`);
    }
    if (upgradeNeeded(['sessions'], instance.agentVersion) !== undefined) {
      throw new ApiError(
        'InvalidOperation.ClientNeedUpgrade',
        `The agent of ${instance.id} is ${instance.agentVersion}; sessions need ${minimumAgentVersion.sessions} or later.`,
      );
    }
    const now = this.nowMs();
    const token = newSessionToken();
    const session: TerminalSession = {
      ...spec,
      id: newSessionId(),
      regionId,
      accessKeyId: accessKey.id,
      // The root key stands for the account; every other key for a RAM user.
      identityType: accessKey.description === 'root' ? 'Account' : 'RAMUser',
      recordInput: config.recordInput,
      status: 'Pending',
      nodeId: '',
      clientIp: '',
      createdAtMs: now,
      tokenExpiresAtMs: now + sessionLimitsApi.tokenTtlMs,
      startedAtMs: 0,
      endedAtMs: 0,
      closedReason: '',
      failedDetail: '',
      exitCode: null,
      recordedBytes: 0,
      droppedBytes: 0,
    };
    const created = await this.store.terminalSessions.create(session, hashToken(token), this.limits);
    if (!created.created) checkSessionCount(created.live, this.limits);
    return {
      sessionId: session.id,
      webSocketUrl: `${this.webSocketScheme}://${host}${clientSessionPath}${session.id}`,
      securityToken: token,
    };
  }

  describe(
    regionId: string,
    filter: { instanceId?: string | undefined; sessionId?: string | undefined },
    page: PageRequest,
  ): Promise<Page<TerminalSession>> {
    return this.store.terminalSessions.list(regionId, filter, page);
  }

  /** The session of this region, or `InvalidSessionId.NotFound`. */
  async get(regionId: string, sessionId: string): Promise<TerminalSession> {
    const session = await this.store.terminalSessions.get(sessionId);
    if (!session || session.regionId !== regionId) {
      throw new ApiError('InvalidSessionId.NotFound', `Session ${sessionId.slice(0, 64)} does not exist.`);
    }
    return session;
  }

  /** EndTerminalSession: stored first, then the relay is told (on any node). Ending an ended session changes nothing. */
  async end(regionId: string, sessionId: string): Promise<void> {
    const session = await this.get(regionId, sessionId);
    const end: SessionEnd = { reason: 'EndedByApi' };
    if (await this.store.terminalSessions.end(session.id, end, this.nowMs()))
      this.relays?.endSession(session.id, end);
  }

  /** A recording page of a session of this region. */
  async recording(
    regionId: string,
    sessionId: string,
    direction: RecordingDirection,
    offset: number,
    maxBytes: number,
  ): Promise<{ data: Buffer; session: TerminalSession }> {
    const session = await this.get(regionId, sessionId);
    const data = await this.store.terminalSessions.readRecording(
      session.id,
      direction,
      offset,
      Math.min(maxBytes, maxRecordingPageBytes),
    );
    return { data, session };
  }

  // --- what the relay asks (dispatch/session-relay.ts) ---

  /**
   * A client presents a session's token: the session, now Connecting on `nodeId`, when the token
   * is its own, unexpired and unused; else undefined. Only the token's SHA-256 is stored, and the
   * store compares hashes: a timing difference would tell nothing of the token.
   */
  async claim(
    sessionId: string,
    token: string,
    nodeId: string,
    clientIp: string,
  ): Promise<TerminalSession | undefined> {
    if (!/^s-[0-9a-f]{32}$/.test(sessionId) || token.length === 0 || token.length > 256) return undefined;
    return this.store.terminalSessions.claim(sessionId, hashToken(token), nodeId, clientIp, this.nowMs());
  }

  connected(sessionId: string): Promise<void> {
    return this.store.terminalSessions.connected(sessionId, this.nowMs());
  }

  ended(sessionId: string, end: SessionEnd): Promise<boolean> {
    return this.store.terminalSessions.end(sessionId, end, this.nowMs());
  }

  record(
    sessionId: string,
    direction: RecordingDirection,
    offset: number,
    data: Buffer,
    dropped: number,
  ): Promise<void> {
    return this.store.terminalSessions.record(sessionId, direction, offset, data, dropped);
  }

  /** Sessions whose token expired unused end `TokenExpired` (a cluster job). */
  expireTokens(): Promise<string[]> {
    return this.store.terminalSessions.expireTokens(this.nowMs());
  }

  /** A node stopped or was forgotten: the sessions it relayed end. */
  endOnNode(nodeId: string, end: SessionEnd): Promise<string[]> {
    return this.store.terminalSessions.endOnNode(nodeId, end, this.nowMs());
  }

  /** Ended sessions past the retention (days; 0: kept forever) go, with their recordings. */
  async purgeExpired(retentionDays: number): Promise<void> {
    if (retentionDays <= 0) return;
    const before = this.nowMs() - retentionDays * 86_400_000;
    while ((await this.store.terminalSessions.purge(before, 500)) === 500) {
      // a batch at a time, so one sweep never holds the database long
    }
  }
}

/** `GET <clientSessionPath><sessionId>`: the client's WebSocket (the WebSocketUrl's path). */
export const clientSessionPath = '/session/v1/';
