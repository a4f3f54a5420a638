import { useEffect } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, StatusBadge } from './components.js';
import { useLoad } from './load.js';
import { RecordingView } from './recording-view.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import { ClosedReason, connectionOf, sessionKind } from './sessions-page.js';
import { type DescribeTerminalSessionsResponse, finalSessionStatuses, type TerminalSession } from './wire.js';

// A session's row changes only at its start and end: re-read this often until it has ended.
const pollMs = 2000;

async function loadSession(session: Session, sessionId: string): Promise<TerminalSession> {
  const page = await call<DescribeTerminalSessionsResponse>(session, 'DescribeTerminalSessions', {
    SessionId: sessionId,
  });
  const found = page.Sessions.Session[0];
  if (!found) throw new Error(`No session ${sessionId} in ${session.regionId}.`);
  return found;
}

/** One terminal session: who opened what on which instance, how it ended, and its recording. */
export function SessionPage({
  session,
  sessionId,
}: {
  readonly session: Session;
  readonly sessionId: string;
}) {
  const {
    data: row,
    error,
    loading,
    reload,
  } = useLoad(() => loadSession(session, sessionId), [session, sessionId]);
  const connection = row && connectionOf(row);
  const ended = connection !== undefined && finalSessionStatuses.has(connection.Status);

  useEffect(() => {
    if (loading || ended || (error !== undefined && row === undefined)) return;
    const timer = setTimeout(reload, pollMs);
    return () => clearTimeout(timer);
  }, [loading, ended, row, error]);

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href={hrefOf({ page: 'sessions' })}>Sessions</a> /
      </p>
      <div class="page-head">
        <PageHeading>
          Session <span class="id">{sessionId}</span>
        </PageHeading>
      </div>
      <ErrorNote error={error} />
      {row && connection && (
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd aria-live="polite" data-testid="session-status">
              <StatusBadge status={connection.Status} />
            </dd>
          </div>
          <div class="wide">
            <dt>Instance</dt>
            <dd>
              <a class="id" href={hrefOf({ page: 'instance', instanceId: connection.InstanceId })}>
                {connection.InstanceId}
              </a>
            </dd>
          </div>
          <div>
            <dt>User</dt>
            <dd>{row.Username || 'root'}</dd>
          </div>
          <div>
            <dt>Opened</dt>
            <dd>{sessionKind(row)}</dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatTime(connection.StartTime || row.CreationTime)}</dd>
          </div>
          <div>
            <dt>Ended</dt>
            <dd>{formatTime(connection.EndTime)}</dd>
          </div>
          <div>
            <dt>Closed reason</dt>
            <dd>
              <ClosedReason session={row} />
            </dd>
          </div>
          <div>
            <dt>Client address</dt>
            <dd>{row.ClientIP}</dd>
          </div>
          <div>
            <dt>Recorded</dt>
            <dd>
              {(row.RecordedBytes ?? 0).toLocaleString()} bytes
              {row.DroppedBytes ? (
                <span class="sub">{row.DroppedBytes.toLocaleString()} past the bound, not kept</span>
              ) : null}
            </dd>
          </div>
          <div>
            <dt>Access key</dt>
            <dd class="id">{row.PrincipalId}</dd>
          </div>
        </dl>
      )}
      {row && <h2>Recording</h2>}
      {row &&
        (row.PortNumber ? (
          <p>A port forward's bytes are not recorded.</p>
        ) : (
          <RecordingView session={session} sessionId={sessionId} />
        ))}
    </section>
  );
}
