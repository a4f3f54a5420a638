import { randomBytes } from 'node:crypto';
import { ApiError, missingParameter } from '../domain/errors.js';
import type { Page, PageRequest } from '../domain/paging.js';
import type { ResourceGroup, ResourceGroupFilter, Store, TaggedType } from '../store/store.js';
import { resourceGroupMustExist } from './resource-group-check.js';

// ResourceManager's limits (CreateResourceGroup reference): Name 3-50 characters, letters, digits
// and hyphens, starting with a letter; DisplayName 1-50; at most 30 groups per account.
export const resourceGroupLimits = {
  nameLength: { min: 3, max: 50 },
  displayNameLength: 50,
  groups: 30,
} as const;

/** Resource group ids: `rg-` + 15 lowercase characters, 18 in all, as ResourceManager's. */
const newResourceGroupId = (): string =>
  `rg-${randomBytes(12)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x')
    .slice(0, 15)}`;

/** Resource groups (ResourceManager 2020-03-31) and the checks other actions make against them. */
export class ResourceGroupService {
  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
  ) {}

  async create(name: string | undefined, displayName: string | undefined): Promise<ResourceGroup> {
    if (!name) throw missingParameter('Name');
    if (
      name.length < resourceGroupLimits.nameLength.min ||
      name.length > resourceGroupLimits.nameLength.max
    ) {
      throw new ApiError('InvalidParameter.Name.Length');
    }
    if (!/^[A-Za-z][A-Za-z0-9-]*$/.test(name)) throw new ApiError('InvalidParameter.Name.InvalidChars');
    if (!displayName) throw new ApiError('MissingParameter.DisplayName');
    if (displayName.length > resourceGroupLimits.displayNameLength)
      throw new ApiError('InvalidParameter.DisplayName.Length');
    if ((await this.store.resourceGroups.count()) >= resourceGroupLimits.groups) {
      throw new ApiError('LimitExceeded.ResourceGroup');
    }
    const group = await this.store.resourceGroups.create({
      id: newResourceGroupId(),
      name,
      displayName,
      createdAtMs: this.nowMs(),
    });
    if (!group) throw new ApiError('EntityAlreadyExists.ResourceGroup', `A group named ${name} exists.`);
    return group;
  }

  list(filter: ResourceGroupFilter, page: PageRequest): Promise<Page<ResourceGroup>> {
    return this.store.resourceGroups.list(filter, page);
  }

  async delete(id: string): Promise<ResourceGroup> {
    const group = await this.store.resourceGroups.get(id);
    if (!group) throw new ApiError('EntityNotExists.ResourceGroup');
    const outcome = await this.store.resourceGroups.delete(id);
    if (outcome === 'missing') throw new ApiError('EntityNotExists.ResourceGroup');
    if (outcome === 'in-use') throw new ApiError('DeleteConflict.ResourceGroup.Resource');
    return group;
  }

  /** ECS JoinResourceGroup: moves a command, instance or activation into a group. */
  async join(regionId: string, type: TaggedType, resourceId: string, groupId: string): Promise<void> {
    await resourceGroupMustExist(this.store, groupId);
    if (!(await this.store.resourceGroups.join(regionId, type, resourceId, groupId))) {
      throw new ApiError(
        'InvalidResourceId.NotFound',
        `No ${type} ${resourceId.slice(0, 80)} in ${regionId}.`,
      );
    }
  }
}
