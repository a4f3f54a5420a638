import { ApiError } from '../../domain/errors.js';
import { resourceTypeOf } from '../../service/tags.js';
import type { ResourceGroup } from '../../store/store.js';
import type { Action } from '../action.js';
import { isoTime, readPaging, renderPage } from '../wire.js';

/** Resource groups are ResourceManager's, a separate product API routed here by its Version. */
const resourceManagerVersion = '2020-03-31';

const renderGroup = (group: ResourceGroup, accountId: string) => ({
  Id: group.id,
  Name: group.name,
  DisplayName: group.displayName,
  AccountId: accountId,
  Status: 'OK',
  CreateDate: isoTime(group.createdAtMs),
});

const regionStatuses = (regions: readonly string[], status: string) => ({
  RegionStatus: regions.map((regionId) => ({ RegionId: regionId, Status: status })),
});

export const createResourceGroup: Action = {
  name: 'CreateResourceGroup',
  version: resourceManagerVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    const group = await services.resourceGroups.create(params.string('Name'), params.string('DisplayName'));
    return {
      ResourceGroup: {
        ...renderGroup(group, accessKey.id),
        RegionStatuses: regionStatuses(services.regions, 'OK'),
      },
    };
  },
};

export const listResourceGroups: Action = {
  name: 'ListResourceGroups',
  version: resourceManagerVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    const page = readPaging(params, 100);
    const ids = params.list(
      'ResourceGroupIds',
      100,
      () => new ApiError('InvalidParameter', 'At most 100 ResourceGroupIds.'),
    );
    const single = params.string('ResourceGroupId');
    const result = await services.resourceGroups.list(
      {
        ids: ids.length > 0 ? ids : single ? [single] : undefined,
        name: params.string('Name') || undefined,
        displayName: params.string('DisplayName') || undefined,
      },
      page,
    );
    return {
      ...renderPage(page, result),
      ResourceGroups: { ResourceGroup: result.items.map((group) => renderGroup(group, accessKey.id)) },
    };
  },
};

export const deleteResourceGroup: Action = {
  name: 'DeleteResourceGroup',
  version: resourceManagerVersion,
  regionRequired: false,
  async handle({ params, services, accessKey }) {
    const group = await services.resourceGroups.delete(params.required('ResourceGroupId'));
    return {
      ResourceGroup: {
        ...renderGroup(group, accessKey.id),
        Status: 'PendingDelete',
        RegionStatuses: regionStatuses(services.regions, 'PendingDelete'),
      },
    };
  },
};

/** ECS JoinResourceGroup for the resources this server hosts (instance/managedinstance, command, activation). */
export const joinResourceGroup: Action = {
  name: 'JoinResourceGroup',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const type = resourceTypeOf(params.required('ResourceType'));
    if (type === 'invocation')
      throw new ApiError(
        'InvalidResourceType.NotFound',
        'Invocations take the group they were invoked with.',
      );
    await services.resourceGroups.join(
      regionId,
      type,
      params.required('ResourceId'),
      params.required('ResourceGroupId'),
    );
    return {};
  },
};
