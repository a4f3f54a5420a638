import { useState } from 'preact/hooks';
import { call } from './api.js';
import { ErrorNote, Pager, StatusBadge } from './components.js';
import { useLoad } from './load.js';
import type { Session } from './session.js';
import type { DescribeManagedInstancesResponse } from './wire.js';

const pageSize = 50;

/** Checkboxes for the managed instances, a page at a time; what is chosen stays chosen across pages. */
export function InstanceChoices({
  session,
  chosen,
  onToggle,
}: {
  readonly session: Session;
  readonly chosen: ReadonlySet<string>;
  readonly onToggle: (instanceId: string, on: boolean) => void;
}) {
  const [pageNumber, setPageNumber] = useState(1);
  const { data, error } = useLoad(
    () =>
      call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', {
        PageNumber: pageNumber,
        PageSize: pageSize,
      }),
    [session, pageNumber],
  );
  return (
    <>
      <ErrorNote error={error} />
      {data?.TotalCount === 0 && <p>No managed instances.</p>}
      <ul class="instance-choices">
        {data?.Instances.map((instance) => (
          <li key={instance.InstanceId}>
            <label class="check">
              <input
                type="checkbox"
                checked={chosen.has(instance.InstanceId)}
                onChange={(event) => onToggle(instance.InstanceId, event.currentTarget.checked)}
              />{' '}
              <span class="id">{instance.InstanceId}</span> {instance.InstanceName || instance.Hostname}{' '}
              <StatusBadge status={instance.Connected ? 'Online' : 'Offline'} />
            </label>
          </li>
        ))}
      </ul>
      {data && data.TotalCount > pageSize && (
        <Pager
          label="Instance pages"
          pageNumber={pageNumber}
          pageSize={pageSize}
          totalCount={data.TotalCount}
          onPage={setPageNumber}
        />
      )}
      <p class="hint" aria-live="polite">
        {chosen.size} instance{chosen.size === 1 ? '' : 's'} chosen
      </p>
    </>
  );
}
