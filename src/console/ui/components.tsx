import type { ComponentChildren } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api.js';
import type { WireTag } from './wire.js';

const statusTone: Record<string, string> = {
  Success: 'good',
  Online: 'good',
  Offline: 'bad',
  Finished: 'good',
  Running: 'busy',
  Pending: 'busy',
  Scheduled: 'busy',
  Stopping: 'busy',
  Failed: 'bad',
  Error: 'bad',
  Timeout: 'bad',
  Invalid: 'bad',
  Aborted: 'bad',
  PartialFailed: 'bad',
  Stopped: 'muted',
  Terminated: 'muted',
  Cancelled: 'muted',
  // Terminal sessions
  Connecting: 'busy',
  Connected: 'good',
  Closed: 'muted',
};

/** A status word with a colour that repeats, never replaces, the word. */
export function StatusBadge({ status }: { readonly status: string }) {
  return <span class={`status status-${statusTone[status] ?? 'muted'}`}>{status || '—'}</span>;
}

export function ErrorNote({ error }: { readonly error: unknown }) {
  if (error === undefined) return null;
  return (
    <p class="error" role="alert">
      {describeError(error)}
    </p>
  );
}

export function TagList({ tags }: { readonly tags: readonly WireTag[] }) {
  if (tags.length === 0) return <span class="muted">none</span>;
  return (
    <ul class="tags">
      {tags.map((tag) => (
        <li key={tag.TagKey}>
          {tag.TagKey}
          {tag.TagValue ? `=${tag.TagValue}` : ''}
        </li>
      ))}
    </ul>
  );
}

/** Page heading that takes focus when the page opens, so keyboard and screen reader users land on it. */
export function PageHeading({ children }: { readonly children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useLayoutEffect(() => ref.current?.focus(), []);
  return (
    <h1 id="page-title" ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

/**
 * A modal on the native <dialog>: the browser traps focus, closes on Escape and restores focus
 * to the opener when it closes. The head stays put; a form inside scrolls (see console.css).
 */
export function Modal({
  title,
  onClose,
  children,
  wide,
  alert,
}: {
  readonly title: ComponentChildren;
  readonly onClose: () => void;
  readonly children: ComponentChildren;
  readonly wide?: boolean;
  /** A question that needs an answer: announced as an alert dialog, described by `alert`'s element. */
  readonly alert?: { readonly describedBy: string };
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      class={wide ? 'wide' : undefined}
      role={alert ? 'alertdialog' : undefined}
      aria-labelledby={titleId}
      aria-describedby={alert?.describedBy}
      onClose={onClose}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" class="plain" onClick={() => ref.current?.close()} aria-label="Close">
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}

/**
 * Asks before something that cannot be undone: the question as the title, what will happen as
 * the description, the action and Cancel. Cancel has the focus, so Enter alone changes nothing.
 */
export function ConfirmDialog({
  title,
  children,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  readonly title: ComponentChildren;
  readonly children: ComponentChildren;
  readonly confirmLabel: string;
  /** Does the thing; the caller closes the dialog when it is done. A failure is shown here. */
  readonly onConfirm: () => Promise<void>;
  readonly onClose: () => void;
}) {
  const messageId = useId();
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <Modal title={title} onClose={onClose} alert={{ describedBy: messageId }}>
      <div id={messageId} class="confirm-message">
        {children}
      </div>
      <ErrorNote error={error} />
      <div class="actions">
        <button type="button" class="danger" onClick={confirm} disabled={busy}>
          {confirmLabel}
        </button>
        {/* The dialog's safe answer is where focus goes when it opens. */}
        <button type="button" autofocus onClick={onClose}>
          Cancel
        </button>
      </div>
    </Modal>
  );
}

export function Pager({
  pageNumber,
  pageSize,
  totalCount,
  onPage,
  label = 'Pages',
}: {
  readonly pageNumber: number;
  readonly pageSize: number;
  readonly totalCount: number;
  readonly onPage: (page: number) => void;
  /** The navigation's accessible name, to tell two pagers apart. */
  readonly label?: string;
}) {
  const pages = Math.max(1, Math.ceil(totalCount / pageSize));
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={pageNumber <= 1} onClick={() => onPage(pageNumber - 1)}>
        Previous
      </button>
      <span aria-live="polite">
        Page {pageNumber} of {pages} ({totalCount} in all)
      </span>
      <button type="button" disabled={pageNumber >= pages} onClick={() => onPage(pageNumber + 1)}>
        Next
      </button>
    </nav>
  );
}

/**
 * Previous/Next over an API that pages with NextToken: `tokens` holds the token of each page seen
 * (the first is undefined), so Previous goes back without the API's help. Hidden on a single page.
 */
export function TokenPager({
  tokens,
  nextToken,
  onTokens,
  label,
}: {
  readonly tokens: readonly (string | undefined)[];
  readonly nextToken: string | undefined;
  readonly onTokens: (tokens: readonly (string | undefined)[]) => void;
  readonly label: string;
}) {
  const pageIndex = tokens.length - 1;
  if (pageIndex === 0 && !nextToken) return null;
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={pageIndex === 0} onClick={() => onTokens(tokens.slice(0, -1))}>
        Previous
      </button>
      <span aria-live="polite">Page {pageIndex + 1}</span>
      <button
        type="button"
        disabled={!nextToken}
        onClick={() => nextToken && onTokens([...tokens, nextToken])}
      >
        Next
      </button>
    </nav>
  );
}
