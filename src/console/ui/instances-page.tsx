import { useState } from 'preact/hooks';
import { AddMachineDialog } from './add-machine-dialog.js';
import { call, formatTime, listParams } from './api.js';
import { ErrorNote, PageHeading, Pager, StatusBadge, TagList } from './components.js';
import { useLoad } from './load.js';
import { hrefOf, navigate } from './router.js';
import { RunDialog } from './run-dialog.js';
import type { Session } from './session.js';
import type {
  AssistantStatus,
  DescribeCloudAssistantStatusResponse,
  DescribeManagedInstancesResponse,
  InstancePluginStatus,
  ListPluginStatusResponse,
  ManagedInstance,
  ResourceUsageState,
} from './wire.js';

// DescribeCloudAssistantStatus takes at most 100 ids, ListPluginStatus 50: one call each covers a page.
const pageSize = 50;

interface InstanceRow {
  readonly instance: ManagedInstance;
  readonly status: AssistantStatus | undefined;
  readonly plugins: InstancePluginStatus | undefined;
}

const mib = 1024 * 1024;

/** The caps an agent applied to itself, in a few words (the reason in full when it could not). */
export function CapsState({ usage }: { readonly usage: ResourceUsageState | undefined }) {
  if (!usage || usage.State === 'unreported') return <span class="muted">not reported</span>;
  if (usage.State === 'none') return <span class="muted">none</span>;
  if (usage.State === 'unavailable') {
    return <span title={usage.Reason}>unavailable: {usage.Reason}</span>;
  }
  const caps = [
    usage.MemoryLimitBytes !== undefined && `memory ${Math.round(usage.MemoryLimitBytes / mib)} MiB`,
    usage.CpuLimit !== undefined && `CPU ${usage.CpuLimit} %`,
  ].filter(Boolean);
  return (
    <span title={usage.Cgroup}>
      applied: {caps.join(', ') || 'no limit'} ({usage.Mechanism})
    </span>
  );
}

function Plugins({ plugins }: { readonly plugins: InstancePluginStatus | undefined }) {
  const list = plugins?.PluginStatusSet.PluginStatus ?? [];
  const text = list.map((plugin) => `${plugin.PluginName} ${plugin.PluginStatus}`).join(', ');
  return <span class="sub">plugins: {text || 'none'}</span>;
}

/**
 * One page of managed instances with their agents' state: one list call, then one status call and
 * one plugin-status call (caps applied, plugins) for the page.
 */
async function loadInstances(
  session: Session,
  pageNumber: number,
): Promise<{ rows: InstanceRow[]; totalCount: number }> {
  const list = await call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', {
    PageNumber: pageNumber,
    PageSize: pageSize,
  });
  const ids = list.Instances.map((instance) => instance.InstanceId);
  const statuses =
    ids.length === 0
      ? []
      : (
          await call<DescribeCloudAssistantStatusResponse>(session, 'DescribeCloudAssistantStatus', {
            ...listParams('InstanceId', ids),
            PageSize: pageSize,
          })
        ).InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus;
  const plugins =
    ids.length === 0
      ? []
      : (
          await call<ListPluginStatusResponse>(session, 'ListPluginStatus', {
            ...listParams('InstanceId', ids),
            MaxResults: pageSize,
          })
        ).InstancePluginStatusSet.InstancePluginStatus;
  const byId = new Map(statuses.map((status) => [status.InstanceId, status]));
  const pluginsById = new Map(plugins.map((entry) => [entry.InstanceId, entry]));
  return {
    rows: list.Instances.map((instance) => ({
      instance,
      status: byId.get(instance.InstanceId),
      plugins: pluginsById.get(instance.InstanceId),
    })),
    totalCount: list.TotalCount,
  };
}

export function InstancesPage({ session }: { readonly session: Session }) {
  const [pageNumber, setPageNumber] = useState(1);
  const [running, setRunning] = useState(false);
  const [adding, setAdding] = useState(false);
  const { data, error, loading, reload } = useLoad(
    () => loadInstances(session, pageNumber),
    [session, pageNumber],
  );
  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Instances</PageHeading>
        <button type="button" class="primary" onClick={() => setRunning(true)}>
          Run script
        </button>
        <button type="button" onClick={() => setAdding(true)}>
          Add machine
        </button>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <ErrorNote error={error} />
      {data && data.rows.length === 0 && (
        <p>
          No managed instances yet. <strong>Add machine</strong> gives the line that installs the agent on
          one.
        </p>
      )}
      {data && data.rows.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>
              {data.totalCount} managed instance{data.totalCount === 1 ? '' : 's'}, newest first
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
                <th scope="col">Resource caps</th>
                <th scope="col">Tags</th>
              </tr>
            </thead>
            <tbody>
              {data.rows.map(({ instance, status, plugins }) => (
                <tr key={instance.InstanceId}>
                  <th scope="row">
                    <a class="id" href={hrefOf({ page: 'instance', instanceId: instance.InstanceId })}>
                      {instance.InstanceId}
                    </a>
                    <span class="sub">{instance.InstanceName || instance.Hostname}</span>
                  </th>
                  <td>
                    <StatusBadge status={instance.Connected ? 'Online' : 'Offline'} />
                  </td>
                  <td>{instance.AgentVersion}</td>
                  <td>{instance.OsVersion || instance.OsType}</td>
                  <td>{instance.IntranetIp || instance.InternetIp}</td>
                  <td>{formatTime(status?.LastHeartbeatTime)}</td>
                  <td>{status?.ActiveTaskCount ?? ''}</td>
                  <td>
                    <CapsState usage={plugins?.ResourceUsage} />
                    <Plugins plugins={plugins} />
                  </td>
                  <td>
                    <TagList tags={instance.Tags} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.totalCount > pageSize && (
        <Pager
          label="Instance pages"
          pageNumber={pageNumber}
          pageSize={pageSize}
          totalCount={data.totalCount}
          onPage={setPageNumber}
        />
      )}
      {adding && (
        <AddMachineDialog
          session={session}
          onClose={() => {
            setAdding(false);
            reload();
          }}
        />
      )}
      {running && (
        <RunDialog
          session={session}
          onClose={() => setRunning(false)}
          onInvoked={(invokeId) => navigate({ page: 'invocation', invokeId })}
        />
      )}
    </section>
  );
}
