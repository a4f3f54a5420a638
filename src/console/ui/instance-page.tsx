import { useState } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, StatusBadge, TagList } from './components.js';
import { CapsState } from './instances-page.js';
import { useLoad } from './load.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import { TerminalView } from './terminal-view.js';
import type {
  AssistantStatus,
  DescribeCloudAssistantStatusResponse,
  DescribeManagedInstancesResponse,
  ManagedInstance,
} from './wire.js';

interface InstanceView {
  readonly instance: ManagedInstance;
  readonly status: AssistantStatus | undefined;
}

async function loadInstance(session: Session, instanceId: string): Promise<InstanceView> {
  const [page, statuses] = await Promise.all([
    call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', {
      'InstanceId.1': instanceId,
    }),
    // A key allowed to list instances but not their agents' status still sees the page.
    call<DescribeCloudAssistantStatusResponse>(session, 'DescribeCloudAssistantStatus', {
      'InstanceId.1': instanceId,
    }).catch(() => undefined),
  ]);
  const instance = page.Instances[0];
  if (!instance) throw new Error(`No managed instance ${instanceId} in ${session.regionId}.`);
  return { instance, status: statuses?.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus[0] };
}

const kib = 1024;

/** A journal's size in the unit that reads best. */
const journalSize = (bytes: number): string =>
  bytes < kib * kib ? `${Math.ceil(bytes / kib)} KiB` : `${(bytes / kib / kib).toFixed(1)} MiB`;

/** What the agent last said of itself: its journal and the events the server has not acknowledged. */
function Health({ status }: { readonly status: AssistantStatus | undefined }) {
  if (status?.JournalBytes === undefined) return <span class="muted">not reported</span>;
  return (
    <span title={`reported ${formatTime(status.HealthReportTime)}`}>
      journal {journalSize(status.JournalBytes)}, {status.PendingEvents ?? 0} event
      {status.PendingEvents === 1 ? '' : 's'} not yet acknowledged
    </span>
  );
}

/** One managed instance: what it is, and a terminal on it. */
export function InstancePage({
  session,
  instanceId,
}: {
  readonly session: Session;
  readonly instanceId: string;
}) {
  const { data, error } = useLoad(() => loadInstance(session, instanceId), [session, instanceId]);
  const instance = data?.instance;
  // Each Open terminal is a new session: a new key gives it a new TerminalView.
  const [terminals, setTerminals] = useState(0);
  const [live, setLive] = useState(false);

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href={hrefOf({ page: 'instances' })}>Instances</a> /
      </p>
      <div class="page-head">
        <PageHeading>
          Instance <span class="id">{instanceId}</span>
        </PageHeading>
        <button
          type="button"
          class="primary"
          disabled={live || !instance?.Connected}
          title={instance && !instance.Connected ? 'The agent is offline' : undefined}
          onClick={() => {
            setTerminals((n) => n + 1);
            setLive(true);
          }}
        >
          Open terminal
        </button>
        <a href={hrefOf({ page: 'sessions', instanceId })}>Sessions on this instance</a>
      </div>
      <ErrorNote error={error} />
      {instance && (
        <dl class="facts">
          <div>
            <dt>Agent</dt>
            <dd>
              <StatusBadge status={instance.Connected ? 'Online' : 'Offline'} /> {instance.AgentVersion}
            </dd>
          </div>
          <div>
            <dt>Name</dt>
            <dd>{instance.InstanceName || instance.Hostname}</dd>
          </div>
          <div>
            <dt>OS</dt>
            <dd>{instance.OsVersion || instance.OsType}</dd>
          </div>
          <div>
            <dt>Address</dt>
            <dd>{instance.IntranetIp || instance.InternetIp}</dd>
          </div>
          <div>
            <dt>Registered</dt>
            <dd>{formatTime(instance.RegistrationTime)}</dd>
          </div>
          <div>
            <dt>Last heartbeat</dt>
            <dd>{formatTime(data?.status?.LastHeartbeatTime)}</dd>
          </div>
          <div>
            <dt>Agent health</dt>
            <dd>
              <Health status={data?.status} />
            </dd>
          </div>
          <div>
            <dt>Resource caps</dt>
            <dd>
              <CapsState usage={data?.status?.ResourceUsage} />
            </dd>
          </div>
          <div>
            <dt>Tags</dt>
            <dd>
              <TagList tags={instance.Tags} />
            </dd>
          </div>
        </dl>
      )}
      {terminals > 0 && (
        <TerminalView
          key={terminals}
          session={session}
          instanceId={instanceId}
          onEnded={() => setLive(false)}
        />
      )}
    </section>
  );
}
