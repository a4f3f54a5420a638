import { useState } from 'preact/hooks';
import { invoke } from '../../client/api.js';
import { formatTime } from './api.js';
import { ErrorNote, PageHeading, TokenPager } from './components.js';
import { FilterForm, type Filters, type TextFilter } from './filter-form.js';
import { useLoad } from './load.js';
import type { Session } from './session.js';

/** ActionTrail's API version, where LookupEvents lives (docs/audit.md). */
const actionTrailVersion = '2020-07-06';
const pageSize = 20;

/** An event as LookupEvents answers it; only what the page shows is named. */
export interface AuditEvent {
  readonly eventId: string;
  readonly eventTime: string;
  readonly eventName: string;
  readonly eventSource: string;
  readonly sourceIpAddress: string;
  readonly userIdentity: { readonly type: string; readonly accessKeyId: string; readonly userName: string };
  readonly resourceName: string;
  readonly requestParameters: Readonly<Record<string, string>>;
  readonly errorCode: string;
  readonly errorMessage: string;
}

interface LookupEventsResponse {
  readonly Events: readonly AuditEvent[];
  readonly NextToken: string;
}

type AuditFilterKey = 'eventName' | 'accessKeyId' | 'resource';

const filterFields: readonly TextFilter<AuditFilterKey>[] = [
  { key: 'eventName', label: 'Action', placeholder: 'InvokeCommand' },
  { key: 'accessKeyId', label: 'Access key', placeholder: 'LTAI…' },
  { key: 'resource', label: 'Resource', placeholder: 'mi-…, c-…, t-…' },
];

const empty: Filters<AuditFilterKey> = { status: '', eventName: '', accessKeyId: '', resource: '' };

/** The filters as LookupEvents' `LookupAttribute.N.Key/Value`. */
export function lookupAttributes(filters: Filters<AuditFilterKey>): Record<string, string> {
  const pairs: [string, string][] = [
    ['EventName', filters.eventName],
    ['EventAccessKeyId', filters.accessKeyId],
    ['ResourceName', filters.resource],
  ];
  const params: Record<string, string> = {};
  pairs
    .filter(([, value]) => value !== '')
    .forEach(([key, value], i) => {
      params[`LookupAttribute.${i + 1}.Key`] = key;
      params[`LookupAttribute.${i + 1}.Value`] = value;
    });
  return params;
}

/** Who made a call: a key id, or the agent or activation an agent's call came from. */
const caller = (event: AuditEvent): string =>
  event.userIdentity.accessKeyId || `${event.userIdentity.type} ${event.userIdentity.userName}`.trim();

/**
 * The audit trail (LookupEvents), newest first, filtered like ActionTrail. A key whose policy does
 * not allow actiontrail:LookupEvents sees the API's Forbidden.RAM here.
 */
export function AuditPage({ session }: { readonly session: Session }) {
  const [filters, setFilters] = useState(empty);
  const [tokens, setTokens] = useState<readonly (string | undefined)[]>([undefined]);
  const { data, error, loading, reload } = useLoad(
    () =>
      invoke<LookupEventsResponse>(
        session,
        'LookupEvents',
        { ...lookupAttributes(filters), MaxResults: pageSize, NextToken: tokens.at(-1) },
        actionTrailVersion,
      ),
    [session, filters, tokens],
  );
  const events = data?.Events ?? [];

  return (
    <section aria-labelledby="page-title">
      <div class="page-head">
        <PageHeading>Audit</PageHeading>
        <button type="button" onClick={reload} aria-busy={loading}>
          Refresh
        </button>
      </div>
      <FilterForm
        label="Filter audit events"
        statuses={[]}
        fields={filterFields}
        initial={filters}
        empty={empty}
        onApply={(next) => {
          setFilters(next);
          setTokens([undefined]);
        }}
      />
      <ErrorNote error={error} />
      {data && events.length === 0 && <p>No events match.</p>}
      {events.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption>Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Action</th>
                <th scope="col">Source</th>
                <th scope="col">Caller</th>
                <th scope="col">Source IP</th>
                <th scope="col">Resources</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.eventId} data-event={event.eventId}>
                  <td>{formatTime(event.eventTime)}</td>
                  <th scope="row">
                    <details>
                      <summary>{event.eventName}</summary>
                      <pre>{JSON.stringify(event.requestParameters, null, 2)}</pre>
                    </details>
                  </th>
                  <td>{event.eventSource}</td>
                  <td class="id">{caller(event)}</td>
                  <td>{event.sourceIpAddress}</td>
                  <td class="id">{event.resourceName.split(';').join(' ')}</td>
                  <td title={event.errorMessage}>{event.errorCode || 'OK'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <TokenPager tokens={tokens} nextToken={data?.NextToken} onTokens={setTokens} label="Audit pages" />
    </section>
  );
}
