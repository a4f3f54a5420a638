import { useEffect, useState } from 'preact/hooks';
import { downloadOutput } from '../../client/stream.js';
import { call, describeError, formatTime } from './api.js';
import { ConfirmDialog, ErrorNote, PageHeading, StatusBadge } from './components.js';
import { type RunView, useLiveInvocation } from './live-invocation.js';
import { useLoad } from './load.js';
import { hrefOf } from './router.js';
import type { Session } from './session.js';
import {
  type DescribeInvocationsResponse,
  finalInvocationStatuses,
  type Invocation,
  type InvokeInstance,
} from './wire.js';

// A schedule may have run many times: the page follows its newest runs.
const shownRuns = 3;

async function loadInvocation(session: Session, invokeId: string): Promise<Invocation> {
  const page = await call<DescribeInvocationsResponse>(session, 'DescribeInvocations', {
    InvokeId: invokeId,
  });
  const invocation = page.Invocations.Invocation[0];
  if (!invocation) throw new Error(`No invocation ${invokeId} in ${session.regionId}.`);
  return invocation;
}

/** Runs worth showing for one instance: its schedule's newest runs, or its one run. */
function runsToShow(byExecution: ReadonlyMap<number, RunView> | undefined): RunView[] {
  const all = [...(byExecution?.values() ?? [])].sort((a, b) => a.execution - b.execution);
  const executions = all.filter((run) => run.execution > 0);
  if (executions.length > 0) return executions.slice(-shownRuns);
  return all.filter((run) => run.execution === 0);
}

function saveBytes(bytes: Uint8Array, fileName: string): void {
  // The DOM's BlobPart wants an ArrayBuffer-backed view; a decoded Uint8Array is one, which TS cannot see.
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'text/plain' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function RunOutput({
  session,
  invokeId,
  instanceId,
  run,
  labelled,
}: {
  readonly session: Session;
  readonly invokeId: string;
  readonly instanceId: string;
  readonly run: RunView;
  /** True for a schedule's runs (each its own heading); false for an instance's one run. */
  readonly labelled: boolean;
}) {
  const [downloadError, setDownloadError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const name = labelled ? `run ${run.execution} on ${instanceId}` : instanceId;
  const download = async () => {
    setBusy(true);
    setDownloadError(undefined);
    try {
      const bytes = await downloadOutput(
        session,
        invokeId,
        instanceId,
        run.execution || undefined,
        session.regionId,
      );
      saveBytes(bytes, `${invokeId}-${instanceId}${labelled ? `-${run.execution}` : ''}.log`);
    } catch (failure) {
      setDownloadError(describeError(failure));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="run-output">
      <div class="output-head">
        {labelled ? (
          <h4>
            Run {run.execution} <StatusBadge status={run.status?.InvocationStatus ?? ''} />
          </h4>
        ) : (
          <h3 class="id">{instanceId}</h3>
        )}
        <button
          type="button"
          onClick={download}
          disabled={busy}
          aria-label={`Download full output of ${name}`}
        >
          Download full output
        </button>
      </div>
      {run.cutChars > 0 && (
        <p class="hint">
          The first {run.cutChars.toLocaleString()} characters are not shown; download to see all.
        </p>
      )}
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling log must take focus to be scrolled by keyboard */}
      <pre class="output" role="log" aria-live="polite" aria-label={`Output of ${name}`} tabIndex={0}>
        {run.text || <span class="muted">No output yet.</span>}
      </pre>
      {downloadError && (
        <p class="error" role="alert">
          {downloadError}
        </p>
      )}
    </div>
  );
}

export function InvocationPage({
  session,
  invokeId,
}: {
  readonly session: Session;
  readonly invokeId: string;
}) {
  const summary = useLoad(() => loadInvocation(session, invokeId), [session, invokeId]);
  const live = useLiveInvocation(session, invokeId);
  const [confirmingStop, setConfirmingStop] = useState(false);

  // The stream carries run states; the aggregate status and times are re-read when a state changes.
  useEffect(() => {
    if (live.statusChanges === 0) return;
    const timer = setTimeout(summary.reload, 200);
    return () => clearTimeout(timer);
  }, [live.statusChanges]);

  const invocation = summary.data;
  const status = live.endStatus ?? invocation?.InvocationStatus ?? '';
  const ended = finalInvocationStatuses.has(status);
  const instances: readonly InvokeInstance[] = invocation?.InvokeInstances.InvokeInstance ?? [];

  const stop = async () => {
    await call(session, 'StopInvocation', { InvokeId: invokeId });
    setConfirmingStop(false);
    summary.reload();
  };

  /** The stream's newest state of an instance's standing row, else the listed one. */
  const instanceStatus = (run: InvokeInstance) => {
    const streamed = live.runs.get(run.InstanceId)?.get(0)?.status;
    return {
      status: streamed?.InvocationStatus ?? run.InvocationStatus,
      exitCode: streamed ? streamed.ExitCode : run.ExitCode,
      errorCode: (streamed ? streamed.ErrorCode : run.ErrorCode) ?? '',
      errorInfo: (streamed ? streamed.ErrorInfo : run.ErrorInfo) ?? '',
      // The listed times (a schedule's newest run) are re-read on each change; the stream's come first.
      startTime: run.StartTime || streamed?.StartTime,
      // FinishTime, not StopTime: StopTime is only set when a stop was asked for.
      finishTime: run.FinishTime || streamed?.FinishTime,
    };
  };

  return (
    <section aria-labelledby="page-title">
      <p class="crumbs">
        <a href={hrefOf({ page: 'invocations' })}>Invocations</a> /
      </p>
      <div class="page-head">
        <PageHeading>
          Invocation <span class="id">{invokeId}</span>
        </PageHeading>
        {invocation && !ended && (
          <button
            type="button"
            class="danger"
            onClick={() => setConfirmingStop(true)}
            disabled={status === 'Stopping'}
          >
            {status === 'Stopping' ? 'Stopping…' : 'Stop invocation'}
          </button>
        )}
      </div>
      <ErrorNote error={summary.error} />
      {confirmingStop && (
        <ConfirmDialog
          title={
            <>
              Stop invocation <span class="id">{invokeId}</span>?
            </>
          }
          confirmLabel="Stop"
          onConfirm={stop}
          onClose={() => setConfirmingStop(false)}
        >
          <p>
            Scripts still running are terminated and no further scheduled runs start. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
      {invocation && (
        <dl class="facts">
          <div>
            <dt>Status</dt>
            <dd aria-live="polite" data-testid="invocation-status">
              <StatusBadge status={status} />
            </dd>
          </div>
          <div class="wide">
            <dt>Command</dt>
            <dd>
              {invocation.CommandName} <span class="sub id">{invocation.CommandId}</span>
            </dd>
          </div>
          <div>
            <dt>Repeat</dt>
            <dd>
              {invocation.RepeatMode}
              {invocation.Frequency && ` (${invocation.Frequency})`}
            </dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd>{formatTime(invocation.CreationTime)}</dd>
          </div>
          <div>
            <dt>Timeout</dt>
            <dd>{invocation.Timeout} s</dd>
          </div>
          <div>
            <dt>User</dt>
            <dd>{invocation.Username || 'default'}</dd>
          </div>
          <div>
            <dt>Working directory</dt>
            <dd>{invocation.WorkingDir || 'default'}</dd>
          </div>
          {invocation.Parameters && invocation.Parameters !== '{}' && (
            <div>
              <dt>Parameters</dt>
              <dd>
                <code>{invocation.Parameters}</code>
              </dd>
            </div>
          )}
        </dl>
      )}
      {instances.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Instances</caption>
            <thead>
              <tr>
                <th scope="col">Instance</th>
                <th scope="col">Status</th>
                <th scope="col">Exit code</th>
                <th scope="col">Error</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {instances.map((run) => {
                const now = instanceStatus(run);
                return (
                  <tr key={run.InstanceId} data-instance={run.InstanceId}>
                    <th scope="row" class="id">
                      {run.InstanceId}
                    </th>
                    <td aria-live="polite">
                      <StatusBadge status={now.status} />
                    </td>
                    <td>{now.exitCode ?? ''}</td>
                    <td>
                      {now.errorCode}
                      {now.errorInfo && <span class="sub">{now.errorInfo}</span>}
                    </td>
                    <td>{formatTime(now.startTime)}</td>
                    <td>{formatTime(now.finishTime)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <h2>Output</h2>
      {live.error !== undefined && (
        <div class="error" role="alert">
          Live output stopped: {describeError(live.error)}{' '}
          <button type="button" onClick={live.retry}>
            Reconnect
          </button>
        </div>
      )}
      {instances.map((run) => {
        const runs = runsToShow(live.runs.get(run.InstanceId));
        return (
          <section key={run.InstanceId} class="instance-output" aria-label={`Output of ${run.InstanceId}`}>
            {(runs.length === 0 || runs[0]?.execution !== 0) && <h3 class="id">{run.InstanceId}</h3>}
            {runs.length === 0 && <p class="muted">Waiting for output…</p>}
            {runs.map((view) => (
              <RunOutput
                key={view.execution}
                session={session}
                invokeId={invokeId}
                instanceId={run.InstanceId}
                run={view}
                labelled={view.execution > 0}
              />
            ))}
          </section>
        );
      })}
    </section>
  );
}
