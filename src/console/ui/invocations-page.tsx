import { useState } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, Pager, StatusBadge } from './components.js';
import { FilterForm, type Filters, type TextFilter } from './filter-form.js';
import { useLoad } from './load.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import { type DescribeInvocationsResponse, type Invocation, invocationStatuses } from './wire.js';

const pageSize = 20;

const filterFields: readonly TextFilter<'commandId' | 'instanceId'>[] = [
  { key: 'commandId', label: 'Command ID', placeholder: 'c-…' },
  { key: 'instanceId', label: 'Instance ID', placeholder: 'mi-…' },
];
const noFilters: Filters<'commandId' | 'instanceId'> = { status: '', commandId: '', instanceId: '' };

/** `2 Success, 1 Failed`: how an invocation's instances stand. */
function instanceSummary(invocation: Invocation): string {
  const counts = new Map<string, number>();
  for (const run of invocation.InvokeInstances.InvokeInstance) {
    counts.set(run.InvocationStatus, (counts.get(run.InvocationStatus) ?? 0) + 1);
  }
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
}

export function InvocationsPage({ session }: { readonly session: Session }) {
  const [filters, setFilters] = useState(noFilters);
  const [pageNumber, setPageNumber] = useState(1);
  const { data, error, loading, reload } = useLoad(
    () =>
      call<DescribeInvocationsResponse>(session, 'DescribeInvocations', {
        PageNumber: pageNumber,
        PageSize: pageSize,
        InvokeStatus: filters.status || undefined,
        CommandId: filters.commandId || undefined,
        InstanceId: filters.instanceId || undefined,
      }),
    [session, filters, pageNumber],
  );

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Invocations</PageHeading>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <FilterForm
        label="Filter invocations"
        statuses={invocationStatuses}
        fields={filterFields}
        initial={filters}
        empty={noFilters}
        onApply={(next) => {
          setPageNumber(1);
          setFilters(next);
        }}
      />
      <ErrorNote error={error} />
      {data && data.TotalCount === 0 && <p>No invocations match.</p>}
      {data && data.Invocations.Invocation.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Invocations, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Invocation</th>
                <th scope="col">Command</th>
                <th scope="col">Status</th>
                <th scope="col">Instances</th>
                <th scope="col">Repeat</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {data.Invocations.Invocation.map((invocation) => (
                <tr key={invocation.InvokeId}>
                  <th scope="row">
                    <a class="id" href={hrefOf({ page: 'invocation', invokeId: invocation.InvokeId })}>
                      {invocation.InvokeId}
                    </a>
                  </th>
                  <td>
                    {invocation.CommandName}
                    <span class="sub id">{invocation.CommandId}</span>
                  </td>
                  <td>
                    <StatusBadge status={invocation.InvocationStatus} />
                  </td>
                  <td>{instanceSummary(invocation)}</td>
                  <td>
                    {invocation.RepeatMode}
                    {invocation.Frequency && <span class="sub">{invocation.Frequency}</span>}
                  </td>
                  <td>{formatTime(invocation.CreationTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && data.TotalCount > pageSize && (
        <Pager
          pageNumber={pageNumber}
          pageSize={pageSize}
          totalCount={data.TotalCount}
          onPage={setPageNumber}
        />
      )}
    </section>
  );
}
