import { useState } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, StatusBadge, TokenPager } from './components.js';
import { FilterForm, type Filters, type TextFilter } from './filter-form.js';
import { useLoad } from './load.js';
import { hrefOf, navigate } from './router.js';
import type { Session } from './session.js';
import type { DescribeTerminalSessionsResponse, SessionConnection, TerminalSession } from './wire.js';

const pageSize = 20;

const filterFields: readonly TextFilter<'instanceId'>[] = [
  { key: 'instanceId', label: 'Instance ID', placeholder: 'mi-…' },
];

/** A session's one connection (its instance); an empty one before the API lists it. */
export function connectionOf(session: TerminalSession): SessionConnection {
  return session.Connections.Connection[0] ?? { InstanceId: '', Status: '' };
}

/** What a session opened: a shell, a command, or a forwarded port. */
export function sessionKind(session: TerminalSession): string {
  if (session.PortNumber) return `port ${session.TargetServer || 'localhost'}:${session.PortNumber}`;
  return session.CommandLine ? session.CommandLine : 'shell';
}

/** Why a session ended, with the shell's exit status when it exited by itself. */
export function ClosedReason({ session }: { readonly session: TerminalSession }) {
  const connection = connectionOf(session);
  return (
    <>
      {connection.ClosedReason}
      {session.ExitCode !== undefined && session.ExitCode !== null && ` (exit status ${session.ExitCode})`}
      {connection.FailedDetail && <span class="sub">{connection.FailedDetail}</span>}
    </>
  );
}

/**
 * Terminal sessions and port forwards (DescribeTerminalSessions), newest first, of one instance when
 * the route names one. The API pages with NextToken: the tokens of the pages seen are kept for Previous.
 */
export function SessionsPage({
  session,
  instanceId,
}: {
  readonly session: Session;
  readonly instanceId?: string;
}) {
  const [tokens, setTokens] = useState<readonly (string | undefined)[]>([undefined]);
  const { data, error, loading, reload } = useLoad(
    () =>
      call<DescribeTerminalSessionsResponse>(session, 'DescribeTerminalSessions', {
        InstanceId: instanceId,
        MaxResults: pageSize,
        NextToken: tokens.at(-1),
      }),
    [session, instanceId, tokens],
  );
  const initial: Filters<'instanceId'> = { status: '', instanceId: instanceId ?? '' };
  const sessions = data?.Sessions.Session ?? [];

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Sessions</PageHeading>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <FilterForm
        label="Filter sessions"
        statuses={[]}
        fields={filterFields}
        initial={initial}
        empty={{ status: '', instanceId: '' }}
        // The filter lives in the route, so a filtered list can be linked to (from an instance's page).
        onApply={(next) =>
          navigate({ page: 'sessions', ...(next.instanceId && { instanceId: next.instanceId }) })
        }
      />
      <ErrorNote error={error} />
      {data && sessions.length === 0 && <p>No sessions match.</p>}
      {sessions.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Instance</th>
                <th scope="col">User</th>
                <th scope="col">Opened</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Closed reason</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((row) => {
                const connection = connectionOf(row);
                return (
                  <tr key={row.SessionId} data-session={row.SessionId}>
                    <th scope="row">
                      <a class="id" href={hrefOf({ page: 'session', sessionId: row.SessionId })}>
                        {row.SessionId}
                      </a>
                    </th>
                    <td>
                      <a class="id" href={hrefOf({ page: 'instance', instanceId: connection.InstanceId })}>
                        {connection.InstanceId}
                      </a>
                    </td>
                    <td>{row.Username || 'root'}</td>
                    <td>{sessionKind(row)}</td>
                    <td>
                      <StatusBadge status={connection.Status} />
                    </td>
                    <td>{formatTime(connection.StartTime || row.CreationTime)}</td>
                    <td>{formatTime(connection.EndTime)}</td>
                    <td>
                      <ClosedReason session={row} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <TokenPager tokens={tokens} nextToken={data?.NextToken} onTokens={setTokens} label="Session pages" />
    </section>
  );
}
