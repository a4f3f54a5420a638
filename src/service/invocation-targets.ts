import { ApiError } from '../domain/errors.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { invokeLimits } from '../domain/invocation.js';
import type { Tag } from '../domain/tags.js';
import type { Store } from '../store/store.js';
import { resourceGroupMustExist } from './resource-group-check.js';

/** Which instances a request targets: named, or (InvokeCommand only) found by their tags. */
export interface TargetRequest {
  readonly instanceIds: readonly string[];
  /** When set, the instances are those carrying all these tags (resolved against the store). */
  readonly resourceTags: readonly Tag[];
  readonly resourceGroupId: string;
  /** A rolling run (MaxConcurrency set): the server paces it, so ResourceTag.N may select more. */
  readonly rolling?: unknown;
}

/**
 * The instances a request targets, by `InstanceId.N` or `ResourceTag.N`, each existing and in its
 * resource group (InvokeCommand's, RunCommand's and SendFile's rules, and codes).
 */
export async function requestedInstances(
  store: Store,
  regionId: string,
  request: TargetRequest,
): Promise<ManagedInstance[]> {
  let ids = request.instanceIds;
  if (request.resourceTags.length > 0) {
    const limit = request.rolling ? invokeLimits.rollingInstances : invokeLimits.instances;
    ids = await store.tags.instancesWithTags(regionId, request.resourceTags, limit + 1);
    if (ids.length === 0) throw new ApiError('InvalidResourceTag.InstanceNotFound');
    if (ids.length > limit)
      throw new ApiError('InstanceIds.ExceedLimit', `More than ${limit} instances carry these tags.`);
  }
  const instances = await store.instances.getMany(regionId, ids, { tags: false });
  const missing = ids.filter((id) => !instances.some((instance) => instance.id === id));
  if (missing.length > 0)
    throw new ApiError('InvalidInstance.NotFound', `Not found: ${missing.slice(0, 5).join(', ')}.`);
  await resourceGroupMustExist(store, request.resourceGroupId);
  // The seed: with ResourceGroupId set, every instance must belong to that group.
  const outside = request.resourceGroupId
    ? instances.find((instance) => instance.resourceGroupId !== request.resourceGroupId)
    : undefined;
  if (outside) {
    throw new ApiError(
      'InvalidInstance.NotFound',
      `${outside.id} is not in resource group ${request.resourceGroupId}.`,
    );
  }
  return instances;
}
