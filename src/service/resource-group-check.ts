import { ApiError } from '../domain/errors.js';
import type { Store } from '../store/store.js';

/** A `ResourceGroupId` given to an ECS action must name a group (the seed's InvalidResourceGroup.NotFound, 404). */
export async function resourceGroupMustExist(store: Store, id: string): Promise<void> {
  if (id && !(await store.resourceGroups.get(id))) {
    throw new ApiError('InvalidResourceGroup.NotFound', `No resource group ${id.slice(0, 80)}.`);
  }
}
