import { useEffect } from 'preact/hooks';
import { call, formatTime } from './api.js';
import { ErrorNote, PageHeading, StatusBadge } from './components.js';
import { targetPath } from './files-page.js';
import { useLoad } from './load.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import { type DescribeSendFileResultsResponse, type FileSend, finalInvocationStatuses } from './wire.js';

// A file send has no output stream: its page re-reads the send this often until it has ended.
const pollMs = 1500;

async function loadSend(session: Session, invokeId: string): Promise<FileSend> {
  const page = await call<DescribeSendFileResultsResponse>(session, 'DescribeSendFileResults', {
    InvokeId: invokeId,
  });
  const send = page.Invocations.Invocation[0];
  if (!send) throw new Error(`No file send ${invokeId} in ${session.regionId}.`);
  return send;
}

/** One file send: where the file goes, with what owner and mode, and how each instance took it. */
export function FilePage({ session, invokeId }: { readonly session: Session; readonly invokeId: string }) {
  const {
    data: send,
    error,
    loading,
    reload,
  } = useLoad(() => loadSend(session, invokeId), [session, invokeId]);
  const ended = send !== undefined && finalInvocationStatuses.has(send.InvocationStatus);

  useEffect(() => {
    if (loading || ended || (error !== undefined && send === undefined)) return;
    const timer = setTimeout(reload, pollMs);
    return () => clearTimeout(timer);
  }, [loading, ended, send, error]);

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href={hrefOf({ page: 'files' })}>Files</a> /
      </p>
      <div class="page-head">
        <PageHeading>
          File send <span class="id">{invokeId}</span>
        </PageHeading>
      </div>
      <ErrorNote error={error} />
      {send && (
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd aria-live="polite" data-testid="file-status">
              <StatusBadge status={send.InvocationStatus} />
            </dd>
          </div>
          <div class="wide">
            <dt>Path</dt>
            <dd class="id">{targetPath(send)}</dd>
          </div>
          <div>
            <dt>Owner and group</dt>
            <dd>
              {send.FileOwner}:{send.FileGroup}
            </dd>
          </div>
          <div>
            <dt>Mode</dt>
            <dd>{send.FileMode}</dd>
          </div>
          <div>
            <dt>Overwrite</dt>
            <dd>{send.Overwrite === 'true' ? 'Yes' : 'No'}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatTime(send.CreationTime)}</dd>
          </div>
          {send.Description && (
            <div class="wide">
              <dt>Description</dt>
              <dd>{send.Description}</dd>
            </div>
          )}
        </dl>
      )}
      {send && send.InvokeInstances.InvokeInstance.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Instances</caption>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Status</th>
                <th scope="col">Error</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {send.InvokeInstances.InvokeInstance.map((run) => (
                <tr key={run.InstanceId} data-instance={run.InstanceId}>
                  <th scope="row" class="id">
                    {run.InstanceId}
                  </th>
                  <td>
                    <StatusBadge status={run.InvocationStatus} />
                  </td>
                  <td>
                    {run.ErrorCode}
                    {run.ErrorInfo && <span class="sub">{run.ErrorInfo}</span>}
                  </td>
                  <td>{formatTime(run.StartTime)}</td>
                  <td>{formatTime(run.FinishTime)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
