import { useEffect, useRef, useState } from 'preact/hooks';
import { blobSource, type UploadSource, uploadFile } from '../../client/file-upload.js';
import { call, listParams, type Params } from './api.js';
import { bytesToBase64 } from './bytes.js';
import { ErrorNote, Modal } from './components.js';
import { TargetsFieldset, useTargets } from './instance-choices.js';
import { navigate } from './router.js';
import {
  checkFileDraft,
  defaultTimeoutSeconds,
  emptyFileDraft,
  type FileDraft,
  fileLimits,
  fitsInline,
  largestInlineFile,
} from './send-file-checks.js';
import type { Session } from './session.js';
import type { DescribeManagedInstancesResponse } from './wire.js';

/** How far a file sent as an upload has come: read for its checksum, then uploaded. */
interface Transfer {
  readonly phase: 'checksum' | 'upload';
  readonly doneBytes: number;
  readonly totalBytes: number;
}

function TransferProgress({
  transfer,
  fileName,
}: {
  readonly transfer: Transfer;
  readonly fileName: string;
}) {
  const percent = Math.floor((transfer.doneBytes / transfer.totalBytes) * 100);
  return (
    <div class="transfer span-2">
      <label for="send-progress">
        {transfer.phase === 'checksum' ? `Reading ${fileName} (SHA-256)` : `Uploading ${fileName}`}
      </label>
      <progress id="send-progress" max={transfer.totalBytes} value={transfer.doneBytes} />
      <span aria-hidden="true">{percent}%</span>
    </div>
  );
}

/**
 * SendFile takes instance IDs only (no ResourceTag.N): instances chosen by tag are looked up
 * first, and more than SendFile takes are refused rather than cut.
 */
async function instancesWithTag(session: Session, key: string, value: string): Promise<string[]> {
  const found = await call<DescribeManagedInstancesResponse>(session, 'DescribeManagedInstances', {
    'Tag.1.Key': key,
    'Tag.1.Value': value || undefined,
    PageSize: fileLimits.instances,
  });
  const tag = value ? `${key}=${value}` : key;
  if (found.TotalCount === 0) throw new Error(`No instance carries the tag ${tag}.`);
  if (found.TotalCount > fileLimits.instances) {
    throw new Error(
      `${found.TotalCount} instances carry the tag ${tag}; a file goes to at most ${fileLimits.instances} at once.`,
    );
  }
  return found.Instances.map((instance) => instance.InstanceId);
}

/**
 * Sends a file from this computer to instances (SendFile): where it lands, its owner, group and
 * mode. Up to 32 KB once Base64-encoded the file goes in Content; a larger one is uploaded in parts
 * first (docs/file-transfer.md), read from the File a slice at a time, and sent by its UploadId.
 * Once sent, the send's page opens.
 */
export function SendFileDialog({
  session,
  onClose,
}: {
  readonly session: Session;
  readonly onClose: () => void;
}) {
  const [file, setFile] = useState<File | undefined>(undefined);
  const [draft, setDraft] = useState<FileDraft>(emptyFileDraft);
  const [overwrite, setOverwrite] = useState(false);
  const [timeout, setTimeoutSeconds] = useState('');
  const [targets, setTargets] = useTargets();
  const { targeting, chosen, tagKey, tagValue } = targets;
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [transfer, setTransfer] = useState<Transfer | undefined>(undefined);
  // An upload under way stops reading the file once the dialog is gone.
  const open = useRef(true);
  useEffect(
    () => () => {
      open.current = false;
    },
    [],
  );

  const choose = (picked: File | undefined) => {
    // The name follows the picked file until it is typed over.
    if (picked && (draft.name === '' || draft.name === file?.name)) setDraft({ ...draft, name: picked.name });
    setFile(picked);
    setError(undefined);
  };

  /** SendFile's file parameters: the bytes themselves when they fit, else an upload of them. */
  async function fileParams(picked: File): Promise<Params> {
    if (fitsInline(picked.size)) {
      // At most 24 KiB: read whole, and sent as Base64, which carries any bytes.
      return { Content: bytesToBase64(new Uint8Array(await picked.arrayBuffer())), ContentType: 'Base64' };
    }
    const totalBytes = picked.size;
    const progress = (phase: Transfer['phase']) => (doneBytes: number) =>
      setTransfer({ phase, doneBytes, totalBytes });
    progress('checksum')(0);
    const hashed = await blobSource(picked, progress('checksum'));
    // Read a part at a time as it is uploaded; once the dialog is gone, nothing more is read.
    const source: UploadSource = {
      ...hashed,
      read: (offset, length) => {
        if (!open.current) throw new Error('The dialog was closed before the file was sent.');
        return hashed.read(offset, length);
      },
    };
    const uploadId = await uploadFile(session, source, {
      regionId: session.regionId,
      // As the command line's: sending the same file again after a failure resumes its upload.
      clientToken: `send-file-${source.sha256.slice(0, 40)}-${totalBytes}`,
      onProgress: progress('upload'),
    });
    return { UploadId: uploadId };
  }

  /** The first reason not to send, found without asking the server. */
  function problem(): string | undefined {
    if (!file) return 'Choose a file to send.';
    if (targeting === 'instances' && chosen.size === 0) return 'Choose at least one instance.';
    return checkFileDraft(draft);
  }

  async function submit(event: Event) {
    event.preventDefault();
    const refused = problem();
    if (refused || !file) {
      setError(new Error(refused));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const instanceIds =
        targeting === 'instances' ? [...chosen] : await instancesWithTag(session, tagKey, tagValue);
      const { InvokeId } = await call<{ InvokeId: string }>(session, 'SendFile', {
        ...listParams('InstanceId', instanceIds),
        ...(await fileParams(file)),
        Name: draft.name,
        Description: draft.description || undefined,
        TargetDir: draft.targetDir,
        FileOwner: draft.owner || undefined,
        FileGroup: draft.group || undefined,
        FileMode: draft.mode || undefined,
        Overwrite: overwrite,
        Timeout: timeout || defaultTimeoutSeconds(file.size),
      });
      if (open.current) navigate({ page: 'file', invokeId: InvokeId });
    } catch (failure) {
      setError(failure);
      setBusy(false);
      setTransfer(undefined);
    }
  }

  const field = (key: keyof FileDraft) => ({
    value: draft[key],
    onInput: (event: { currentTarget: HTMLInputElement }) =>
      setDraft({ ...draft, [key]: event.currentTarget.value }),
  });

  return (
    <Modal title="Send a file" onClose={onClose} wide>
      <form class="form-grid" onSubmit={submit}>
        <label for="send-file">File</label>
        <input
          id="send-file"
          type="file"
          required
          aria-describedby="send-file-hint"
          onChange={(event) => choose(event.currentTarget.files?.[0])}
        />
        <p id="send-file-hint" class="hint span-2">
          {!file &&
            `Up to ${largestInlineFile / 1024} KiB goes in the request; a larger file is uploaded first.`}
          {file &&
            `${file.name}: ${file.size.toLocaleString()} bytes${fitsInline(file.size) ? '.' : ', uploaded in parts before it is sent.'}`}
        </p>
        <label for="send-name">File name</label>
        <input
          id="send-name"
          required
          maxLength={fileLimits.nameLength}
          aria-describedby="send-name-hint"
          {...field('name')}
        />
        <p id="send-name-hint" class="hint span-2">
          The name it gets in the target directory.
        </p>
        <label for="send-description">Description</label>
        <input id="send-description" maxLength={fileLimits.descriptionLength} {...field('description')} />

        <TargetsFieldset
          idPrefix="send"
          session={session}
          targets={targets}
          onChange={setTargets}
          tagValueHint={`Empty: every instance with the key, whatever its value (at most ${fileLimits.instances}).`}
        />

        <label for="send-target-dir">Target directory</label>
        <input
          id="send-target-dir"
          required
          placeholder="/etc/app or C:\app"
          maxLength={fileLimits.targetDirLength}
          {...field('targetDir')}
        />
        <label for="send-owner">Owner</label>
        <input id="send-owner" placeholder="root" maxLength={fileLimits.accountLength} {...field('owner')} />
        <label for="send-group">Group</label>
        <input id="send-group" placeholder="root" maxLength={fileLimits.accountLength} {...field('group')} />
        <label for="send-mode">Mode</label>
        <input id="send-mode" inputMode="numeric" aria-describedby="send-mode-hint" {...field('mode')} />
        <p id="send-mode-hint" class="hint span-2">
          Octal, as chmod takes it: 0644 is read-write for the owner, read-only for the others.
        </p>
        <span />
        <label class="check">
          <input
            type="checkbox"
            checked={overwrite}
            onChange={(event) => setOverwrite(event.currentTarget.checked)}
          />{' '}
          Overwrite an existing file
        </label>
        <label for="send-timeout">Timeout (seconds)</label>
        <input
          id="send-timeout"
          type="number"
          min={10}
          max={86400}
          placeholder={String(defaultTimeoutSeconds(file?.size ?? 0))}
          aria-describedby="send-timeout-hint"
          value={timeout}
          onInput={(event) => setTimeoutSeconds(event.currentTarget.value)}
        />
        <p id="send-timeout-hint" class="hint span-2">
          How long each instance has to place the file. Empty: 60, plus 1 per MiB of an uploaded file.
        </p>
        {transfer && file && <TransferProgress transfer={transfer} fileName={file.name} />}
        <ErrorNote error={error} />
        <div class="actions span-2">
          <button type="submit" class="primary" disabled={busy}>
            Send
          </button>
        </div>
      </form>
    </Modal>
  );
}
