import type { ComponentChildren } from 'preact';
import { useEffect, useId, useLayoutEffect, useRef } from 'preact/hooks';
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
 * to the opener when it closes.
 */
export function Modal({
  title,
  onClose,
  children,
  wide,
}: {
  readonly title: string;
  readonly onClose: () => void;
  readonly children: ComponentChildren;
  readonly wide?: boolean;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog ref={ref} class={wide ? 'wide' : undefined} aria-labelledby={titleId} onClose={onClose}>
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

export function Pager({
  pageNumber,
  pageSize,
  totalCount,
  onPage,
}: {
  readonly pageNumber: number;
  readonly pageSize: number;
  readonly totalCount: number;
  readonly onPage: (page: number) => void;
}) {
  const pages = Math.max(1, Math.ceil(totalCount / pageSize));
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={pageNumber <= 1} onClick={() => onPage(pageNumber - 1)}>
        Previous
      </button>
      <span>
        Page {pageNumber} of {pages} ({totalCount} in all)
      </span>
      <button type="button" disabled={pageNumber >= pages} onClick={() => onPage(pageNumber + 1)}>
        Next
      </button>
    </nav>
  );
}
