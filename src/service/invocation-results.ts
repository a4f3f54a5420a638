import { ApiError } from '../domain/errors.js';
import { requireHistoryScope } from '../domain/invocation-filters.js';
import { recordStatusFilter } from '../domain/invocation-status.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import type { InvocationResult, Store } from '../store/store.js';

export interface DescribeResultsInput {
  invokeId?: string | undefined;
  commandId?: string | undefined;
  instanceId?: string | undefined;
  invokeRecordStatus?: string | undefined;
  resourceGroupId?: string | undefined;
  includeHistory: boolean;
  tags: readonly RawTag[];
}

/**
 * DescribeInvocationResults' page: the filters checked, then one read. A function of the store
 * alone, so a reader thread with its own connection runs exactly what the main thread runs.
 */
export function listInvocationResults(
  store: Pick<Store, 'invocations'>,
  regionId: string,
  input: DescribeResultsInput,
  page: PageRequest,
): Promise<Page<InvocationResult>> {
  const runStatuses =
    input.invokeRecordStatus === undefined ? undefined : recordStatusFilter(input.invokeRecordStatus);
  if (input.invokeRecordStatus !== undefined && runStatuses === undefined) {
    throw new ApiError(
      'InvalidParameter',
      `InvokeRecordStatus "${input.invokeRecordStatus.slice(0, 40)}" is not a status.`,
    );
  }
  requireHistoryScope(input.includeHistory, input.invokeId);
  return store.invocations.listResults(
    { regionId, ...input, runStatuses, tags: validateTagFilters(input.tags) },
    page,
  );
}
