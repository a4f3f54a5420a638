import { useEffect, useState } from 'preact/hooks';
import { blobSource, uploadFile } from '../../client/file-upload.js';
import { call, listParams } from './api.js';
import { bytesToBase64 } from './bytes.js';
import { ErrorNote, Modal, StatusBadge } from './components.js';
import { InstanceChoices } from './instance-choices.js';
import type { Session } from './session.js';

/** SendFile's Content limit in Base64: a file within it travels in the call, a larger one as an upload. */
const contentLimitBytes = 32 * 1024;
const finalStatuses = new Set([
  'Success',
  'Failed',
  'Error',
  'Timeout',
  'Aborted',
  'Invalid',
  'Cancelled',
  'Terminated',
]);

interface SentRun {
  readonly InstanceId: string;
  readonly InvocationStatus: string;
  readonly ErrorCode: string;
  readonly ErrorInfo: string;
}

type Stage =
  | { readonly step: 'form' }
  | { readonly step: 'hashing' | 'uploading'; readonly done: number; readonly total: number }
  | { readonly step: 'sent'; readonly invokeId: string };

/** Follows a sent file's runs (DescribeSendFileResults) every second until each has ended. */
function SentResults({ session, invokeId }: { readonly session: Session; readonly invokeId: string }) {
  const [runs, setRuns] = useState<readonly SentRun[]>([]);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const body = await call<{
          Invocations: { Invocation: { InvokeInstances: { InvokeInstance: SentRun[] } }[] };
        }>(session, 'DescribeSendFileResults', { InvokeId: invokeId });
        const rows = body.Invocations.Invocation[0]?.InvokeInstances.InvokeInstance ?? [];
        if (stopped) return;
        setRuns(rows);
        if (rows.length > 0 && rows.every((row) => finalStatuses.has(row.InvocationStatus))) return;
      } catch (failure) {
        setError(failure);
      }
      if (!stopped) timer = setTimeout(poll, 1000);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [session, invokeId]);
  return (
    <div class="span-2">
      <p>
        Sent as <code>{invokeId}</code>.
      </p>
      <ErrorNote error={error} />
      <table aria-label="Where the file landed">
        <thead>
          <tr>
            <th>Instance</th>
            <th>Status</th>
            <th>Error</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.InstanceId}>
              <td>{run.InstanceId}</td>
              <td>
                <StatusBadge status={run.InvocationStatus} />
              </td>
              <td>{[run.ErrorCode, run.ErrorInfo].filter(Boolean).join(': ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Sends a file to instances (SendFile): within 32 KB in the call itself, beyond it uploaded first
 * in parts (OpenAssist's extension, docs/file-transfer.md), hashed and read a slice at a time.
 */
export function SendFileDialog({
  session,
  onClose,
}: {
  readonly session: Session;
  readonly onClose: () => void;
}) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [chosen, setChosen] = useState<ReadonlySet<string>>(new Set());
  const [targetDir, setTargetDir] = useState('');
  const [name, setName] = useState('');
  const [owner, setOwner] = useState('');
  const [group, setGroup] = useState('');
  const [mode, setMode] = useState('');
  const [overwrite, setOverwrite] = useState(false);
  const [stage, setStage] = useState<Stage>({ step: 'form' });
  const [error, setError] = useState<unknown>(undefined);

  const toggle = (instanceId: string, on: boolean) => {
    const next = new Set(chosen);
    if (on) next.add(instanceId);
    else next.delete(instanceId);
    setChosen(next);
  };

  /** Content for a small file; an upload's id for a larger one. */
  async function contentOf(picked: File): Promise<Record<string, string>> {
    if (4 * Math.ceil(picked.size / 3) <= contentLimitBytes) {
      return { Content: bytesToBase64(new Uint8Array(await picked.arrayBuffer())), ContentType: 'Base64' };
    }
    setStage({ step: 'hashing', done: 0, total: picked.size });
    const source = await blobSource(picked, (done) =>
      setStage({ step: 'hashing', done, total: picked.size }),
    );
    const uploadId = await uploadFile(session, source, {
      regionId: session.regionId,
      onProgress: (done) => setStage({ step: 'uploading', done, total: picked.size }),
    });
    return { UploadId: uploadId };
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (!file) return setError(new Error('Choose a file.'));
    if (chosen.size === 0) return setError(new Error('Choose at least one instance.'));
    setError(undefined);
    try {
      const content = await contentOf(file);
      const { InvokeId } = await call<{ InvokeId: string }>(session, 'SendFile', {
        ...listParams('InstanceId', [...chosen]),
        ...content,
        Name: name || file.name,
        TargetDir: targetDir,
        FileOwner: owner || undefined,
        FileGroup: group || undefined,
        FileMode: mode || undefined,
        Overwrite: overwrite,
        // An upload gets a second per MiB to reach each instance on top of SendFile's 60 s.
        Timeout: 'UploadId' in content ? Math.min(86_400, 60 + Math.ceil(file.size / 1_048_576)) : undefined,
      });
      setStage({ step: 'sent', invokeId: InvokeId });
    } catch (failure) {
      setError(failure);
      setStage({ step: 'form' });
    }
  }

  const busy = stage.step === 'hashing' || stage.step === 'uploading';
  return (
    <Modal title="Send a file" onClose={onClose} wide>
      <form class="form-grid" onSubmit={submit}>
        <label for="send-file">File</label>
        <input
          id="send-file"
          type="file"
          required
          disabled={stage.step !== 'form'}
          onChange={(event) => setFile(event.currentTarget.files?.[0])}
        />
        <label for="send-target-dir">Target directory</label>
        <input
          id="send-target-dir"
          required
          placeholder="/etc/app"
          value={targetDir}
          onInput={(event) => setTargetDir(event.currentTarget.value)}
        />
        <label for="send-name">Name there</label>
        <input
          id="send-name"
          placeholder={file?.name ?? "the file's own name"}
          value={name}
          onInput={(event) => setName(event.currentTarget.value)}
        />
        <label for="send-owner">Owner</label>
        <input
          id="send-owner"
          placeholder="root"
          value={owner}
          onInput={(e) => setOwner(e.currentTarget.value)}
        />
        <label for="send-group">Group</label>
        <input
          id="send-group"
          placeholder="root"
          value={group}
          onInput={(e) => setGroup(e.currentTarget.value)}
        />
        <label for="send-mode">Mode</label>
        <input
          id="send-mode"
          placeholder="0644"
          value={mode}
          onInput={(e) => setMode(e.currentTarget.value)}
        />
        <label class="check span-2">
          <input
            type="checkbox"
            checked={overwrite}
            onChange={(e) => setOverwrite(e.currentTarget.checked)}
          />{' '}
          Replace a file of that name
        </label>
        <fieldset class="span-2">
          <legend>Instances</legend>
          <InstanceChoices session={session} chosen={chosen} onToggle={toggle} />
        </fieldset>
        {busy && (
          <label class="span-2">
            {stage.step === 'hashing' ? 'Reading the file' : 'Uploading'}{' '}
            <progress max={stage.total} value={stage.done}>
              {Math.floor((stage.done / stage.total) * 100)}%
            </progress>
          </label>
        )}
        {stage.step === 'sent' && <SentResults session={session} invokeId={stage.invokeId} />}
        <ErrorNote error={error} />
        <div class="actions span-2">
          <button type="submit" class="primary" disabled={stage.step !== 'form'}>
            Send
          </button>
        </div>
      </form>
    </Modal>
  );
}
