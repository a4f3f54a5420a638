import { useState } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, Pager, StatusBadge } from './components.js';
import { FilterForm, type Filters, type TextFilter } from './filter-form.js';
import { useLoad } from './load.js';
import { hrefOf } from './router.js';
import { SendFileDialog } from './send-file-dialog.js';
import type { Session } from './session.js';
import type { DescribeSendFileResultsResponse, FileSend } from './wire.js';

const pageSize = 20;

// DescribeSendFileResults' InvocationStatus values.
const fileStatuses = ['Pending', 'Running', 'Success', 'Failed', 'PartialFailed'];

const filterFields: readonly TextFilter<'name' | 'instanceId'>[] = [
  { key: 'name', label: 'File name' },
  { key: 'instanceId', label: 'Instance ID', placeholder: 'mi-…' },
];
const noFilters: Filters<'name' | 'instanceId'> = { status: '', name: '', instanceId: '' };

/** `2 Success, 1 Failed`: how a send's instances stand. */
export function instanceSummary(send: FileSend): string {
  const counts = new Map<string, number>();
  for (const run of send.InvokeInstances.InvokeInstance) {
    counts.set(run.InvocationStatus, (counts.get(run.InvocationStatus) ?? 0) + 1);
  }
  return [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
}

/** Where the file lands: the directory and the name, joined as the instance's system writes paths. */
export function targetPath(send: Pick<FileSend, 'TargetDir' | 'Name'>): string {
  const separator = /^[A-Za-z]:/.test(send.TargetDir) ? '\\' : '/';
  const dir = send.TargetDir.endsWith(separator) ? send.TargetDir : `${send.TargetDir}${separator}`;
  return `${dir}${send.Name}`;
}

/** Files sent to instances (DescribeSendFileResults), newest first, and the Send file dialog. */
export function FilesPage({ session }: { readonly session: Session }) {
  const [filters, setFilters] = useState(noFilters);
  const [pageNumber, setPageNumber] = useState(1);
  const [sending, setSending] = useState(false);
  const { data, error, loading, reload } = useLoad(
    () =>
      call<DescribeSendFileResultsResponse>(session, 'DescribeSendFileResults', {
        PageNumber: pageNumber,
        PageSize: pageSize,
        InvocationStatus: filters.status || undefined,
        Name: filters.name || undefined,
        InstanceId: filters.instanceId || undefined,
      }),
    [session, filters, pageNumber],
  );

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Files</PageHeading>
        <button type="button" class="primary" onClick={() => setSending(true)}>
          Send file
        </button>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      {sending && <SendFileDialog session={session} onClose={() => setSending(false)} />}
      <FilterForm
        label="Filter files"
        statuses={fileStatuses}
        fields={filterFields}
        initial={filters}
        empty={noFilters}
        onApply={(next) => {
          setPageNumber(1);
          setFilters(next);
        }}
      />
      <ErrorNote error={error} />
      {data && data.TotalCount === 0 && <p>No files sent match.</p>}
      {data && data.Invocations.Invocation.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Files sent, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Send</th>
                <th scope="col">File</th>
                <th scope="col">Status</th>
                <th scope="col">Instances</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {data.Invocations.Invocation.map((send) => (
                <tr key={send.InvokeId}>
                  <th scope="row">
                    <a class="id" href={hrefOf({ page: 'file', invokeId: send.InvokeId })}>
                      {send.InvokeId}
                    </a>
                  </th>
                  <td>
                    {send.Name}
                    <span class="sub id">{targetPath(send)}</span>
                  </td>
                  <td>
                    <StatusBadge status={send.InvocationStatus} />
                  </td>
                  <td>{instanceSummary(send)}</td>
                  <td>{formatTime(send.CreationTime)}</td>
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
