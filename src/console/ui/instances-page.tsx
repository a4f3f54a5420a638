import { call, formatTime, listParams } from './api.js';
import { ErrorNote, PageHeading, StatusBadge, TagList } from './components.js';
import { useLoad } from './load.js';
import type { Session } from './session.js';
import type {
  AssistantStatus,
  DescribeCloudAssistantStatusResponse,
  DescribeManagedInstancesResponse,
  ManagedInstance,
} from './wire.js';

interface InstanceRow {
  readonly instance: ManagedInstance;
  readonly status: AssistantStatus | undefined;
}

/** The managed instances with their agents' state: one list call, then one status call for the page. */
async function loadInstances(session: Session): Promise<{ rows: InstanceRow[]; totalCount: number }> {
  const list = await call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', {
    PageSize: 50,
  });
  const ids = list.Instances.map((instance) => instance.InstanceId);
  const statuses =
    ids.length === 0
      ? []
      : (
          await call<DescribeCloudAssistantStatusResponse>(session, 'DescribeCloudAssistantStatus', {
            ...listParams('InstanceId', ids),
            PageSize: 50,
          })
        ).InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus;
  const byId = new Map(statuses.map((status) => [status.InstanceId, status]));
  return {
    rows: list.Instances.map((instance) => ({ instance, status: byId.get(instance.InstanceId) })),
    totalCount: list.TotalCount,
  };
}

export function InstancesPage({ session }: { readonly session: Session }) {
  const { data, error, loading, reload } = useLoad(() => loadInstances(session), [session]);
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Instances</PageHeading>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} />
      {data && data.rows.length === 0 && (
        <p>
          No managed instances yet. Create an activation (<code>openassist call CreateActivation</code>) and
          start <code>openassist agent</code> on a machine.
        </p>
      )}
      {data && data.rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>
              {data.totalCount} managed instance{data.totalCount === 1 ? '' : 's'}
              {data.totalCount > data.rows.length ? `, the newest ${data.rows.length} shown` : ''}
            </caption>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Agent</th>
                <th scope="col">Version</th>
                <th scope="col">OS</th>
                <th scope="col">Address</th>
                <th scope="col">Last heartbeat</th>
                <th scope="col">Running tasks</th>
                <th scope="col">Tags</th>
              </tr>
            </thead>
            <tbody>
              {data.rows.map(({ instance, status }) => (
                <tr key={instance.InstanceId}>
                  <th scope="row">
                    <span class="id">{instance.InstanceId}</span>
                    <span class="sub">{instance.InstanceName || instance.Hostname}</span>
                  </th>
                  <td>
                    <StatusBadge status={instance.Connected ? 'Online' : 'Offline'} />
                  </td>
                  <td>{instance.AgentVersion}</td>
                  <td>{instance.OsVersion || instance.OsType}</td>
                  <td>{instance.IntranetIp}</td>
                  <td>{formatTime(status?.LastHeartbeatTime)}</td>
                  <td>{status?.ActiveTaskCount ?? ''}</td>
                  <td>
                    <TagList tags={instance.Tags} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
