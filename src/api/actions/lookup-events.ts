import { type AuditEvent, actionTrailEvent } from '../../domain/audit.js';
import { ApiError } from '../../domain/errors.js';
import { encodeNextToken, parsePaging } from '../../domain/paging.js';
import type { AuditFilter } from '../../store/store.js';
import type { Action } from '../action.js';
import type { Params } from '../params.js';

/** ActionTrail's API, routed here by its Version; RAM names it `actiontrail:LookupEvents`. */
export const actionTrailVersion = '2020-07-06';

// ActionTrail pages up to 50 events and returns 20 unless asked (its LookupEvents reference).
const maxResults = 50;
const defaultResults = 20;
const maxAttributes = 10;

/** `2026-01-02T03:04:05Z` (seconds optional fractions, UTC or an offset) to epoch ms. */
function timeOf(params: Params, name: string): number | undefined {
  const text = params.string(name);
  if (text === undefined || text === '') return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(text)
    ? Date.parse(text)
    : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ApiError('InvalidParameter', `${name} must be an ISO 8601 time such as 2026-01-02T03:04:05Z.`);
  }
  return ms;
}

/** `LookupAttribute.N.Key/Value`: each key at most once; every one must match. */
function attributes(params: Params): AuditFilter {
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {};
  for (let n = 1; n <= maxAttributes + 1; n += 1) {
    const key = params.string(`LookupAttribute.${n}.Key`);
    const value = params.string(`LookupAttribute.${n}.Value`) ?? '';
    if (key === undefined) continue;
    if (n > maxAttributes)
      throw new ApiError('InvalidParameter', `At most ${maxAttributes} LookupAttribute.N.`);
    if (value === '' || value.length > 256) {
      throw new ApiError('InvalidParameter', `LookupAttribute.${n}.Value must be 1 to 256 characters.`);
    }
    if (key === 'EventName') filter.eventName = value;
    else if (key === 'EventAccessKeyId') filter.accessKeyId = value;
    else if (key === 'ResourceName') filter.resourceId = value;
    else if (key === 'EventRW') {
      if (value !== 'Read' && value !== 'Write') {
        throw new ApiError('InvalidParameter', 'EventRW is Read or Write.');
      }
      filter.eventRW = value;
    } else {
      throw new ApiError(
        'InvalidParameter',
        `LookupAttribute.${n}.Key "${key.slice(0, 40)}" is not one of EventName, EventAccessKeyId, ResourceName, EventRW.`,
      );
    }
  }
  return filter;
}

/**
 * ActionTrail's LookupEvents over this server's audit trail (docs/audit.md), newest first. The
 * trail has no action that changes or deletes a record: only the retention sweep removes them.
 */
export const lookupEvents: Action = {
  name: 'LookupEvents',
  version: actionTrailVersion,
  regionRequired: false,
  async handle({ params, services }) {
    const startMs = timeOf(params, 'StartTime');
    const endMs = timeOf(params, 'EndTime');
    if (startMs !== undefined && endMs !== undefined && startMs > endMs) {
      throw new ApiError('InvalidParameter', 'StartTime is after EndTime.');
    }
    const paging = parsePaging(
      {
        maxResults: params.integer('MaxResults', 'InvalidParameter.MaxResults') ?? defaultResults,
        nextToken: params.string('NextToken'),
      },
      maxResults,
    );
    const limit = paging.style === 'token' ? paging.maxResults : defaultResults;
    const afterSeq = paging.style === 'token' ? paging.afterSeq : undefined;
    const page = await services.audit.lookup({ ...attributes(params), startMs, endMs }, limit, afterSeq);
    return {
      Events: page.events.map((event: AuditEvent) => actionTrailEvent(event)),
      NextToken: page.more && page.lastSeq !== undefined ? encodeNextToken(page.lastSeq) : '',
      StartTime: params.string('StartTime') ?? '',
      EndTime: params.string('EndTime') ?? '',
    };
  },
};
