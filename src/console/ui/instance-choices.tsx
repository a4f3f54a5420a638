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

export type Targeting = 'instances' | 'tag';

/** What a dialog acts on: instances chosen by id, or every instance carrying a tag. */
export interface Targets {
  readonly targeting: Targeting;
  readonly chosen: ReadonlySet<string>;
  readonly tagKey: string;
  readonly tagValue: string;
}

/** The state behind a TargetsFieldset. */
export function useTargets(): [Targets, (targets: Targets) => void] {
  return useState<Targets>({ targeting: 'instances', chosen: new Set(), tagKey: '', tagValue: '' });
}

/** The Targets fieldset of the Run and Send file dialogs: by id (checkboxes) or by tag. */
export function TargetsFieldset({
  idPrefix,
  session,
  targets,
  onChange,
  tagValueHint,
}: {
  /** Keeps the ids of two dialogs' fields apart. */
  readonly idPrefix: string;
  readonly session: Session;
  readonly targets: Targets;
  readonly onChange: (targets: Targets) => void;
  readonly tagValueHint: string;
}) {
  const set = (fields: Partial<Targets>) => onChange({ ...targets, ...fields });
  const toggle = (instanceId: string, on: boolean) => {
    const chosen = new Set(targets.chosen);
    if (on) chosen.add(instanceId);
    else chosen.delete(instanceId);
    set({ chosen });
  };
  const radio = (targeting: Targeting, label: string) => (
    <label class="check">
      <input
        type="radio"
        name={`${idPrefix}-targeting`}
        checked={targets.targeting === targeting}
        onChange={() => set({ targeting })}
      />{' '}
      {label}
    </label>
  );
  return (
    <fieldset class="span-2">
      <legend>Targets</legend>
      <div class="choice">
        {radio('instances', 'Instances')}
        {radio('tag', 'Instances with a tag')}
      </div>
      {targets.targeting === 'instances' && (
        <InstanceChoices session={session} chosen={targets.chosen} onToggle={toggle} />
      )}
      {targets.targeting === 'tag' && (
        <div class="form-grid">
          <label for={`${idPrefix}-tag-key`}>Tag key</label>
          <input
            id={`${idPrefix}-tag-key`}
            required
            value={targets.tagKey}
            onInput={(event) => set({ tagKey: event.currentTarget.value })}
          />
          <label for={`${idPrefix}-tag-value`}>Tag value</label>
          <input
            id={`${idPrefix}-tag-value`}
            value={targets.tagValue}
            aria-describedby={`${idPrefix}-tag-value-hint`}
            onInput={(event) => set({ tagValue: event.currentTarget.value })}
          />
          <p id={`${idPrefix}-tag-value-hint`} class="hint span-2">
            {tagValueHint}
          </p>
        </div>
      )}
    </fieldset>
  );
}
