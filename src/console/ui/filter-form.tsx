import { useState } from 'preact/hooks';

/** A list page's filters: a status and text fields, each empty when it does not filter. */
export type Filters<K extends string> = Record<K | 'status', string>;

/** A text filter: which of the filters it sets, its label and a placeholder (an id's prefix). */
export interface TextFilter<K extends string> {
  readonly key: K;
  readonly label: string;
  readonly placeholder?: string;
}

/**
 * The filter form of a list page: a status to choose among `statuses` (none: no status field) and
 * text fields, applied trimmed on submit; Clear applies `empty` at once.
 */
export function FilterForm<K extends string>({
  label,
  statuses,
  fields,
  initial,
  empty,
  onApply,
}: {
  readonly label: string;
  readonly statuses: readonly string[];
  readonly fields: readonly TextFilter<K>[];
  readonly initial: Filters<K>;
  readonly empty: Filters<K>;
  readonly onApply: (filters: Filters<K>) => void;
}) {
  const [draft, setDraft] = useState(initial);
  const set = (key: K | 'status', value: string) => {
    const next: Filters<K> = { ...draft };
    next[key] = value;
    setDraft(next);
  };
  return (
    <form
      class="filters"
      aria-label={label}
      onSubmit={(event) => {
        event.preventDefault();
        const trimmed: Filters<K> = { ...draft };
        for (const field of fields) trimmed[field.key] = draft[field.key].trim();
        onApply(trimmed);
      }}
    >
      {statuses.length > 0 && (
        <div class="field">
          <label for="filter-status">Status</label>
          <select
            id="filter-status"
            value={draft.status}
            onChange={(event) => set('status', event.currentTarget.value)}
          >
            <option value="">Any</option>
            {statuses.map((status) => (
              <option key={status}>{status}</option>
            ))}
          </select>
        </div>
      )}
      {fields.map((field) => (
        <div class="field" key={field.key}>
          <label for={`filter-${field.key}`}>{field.label}</label>
          <input
            id={`filter-${field.key}`}
            value={draft[field.key]}
            placeholder={field.placeholder}
            onInput={(event) => set(field.key, event.currentTarget.value)}
          />
        </div>
      ))}
      <button type="submit">Apply</button>
      <button
        type="button"
        onClick={() => {
          setDraft(empty);
          onApply(empty);
        }}
      >
        Clear
      </button>
    </form>
  );
}
