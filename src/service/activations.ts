import {
  type CreateActivationInput,
  newActivationCode,
  newActivationId,
  sha256Hex,
  validateCreateActivation,
} from '../domain/activation.js';
import { ApiError } from '../domain/errors.js';
import type { Activation } from '../domain/fleet.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import type { Store } from '../store/store.js';
import { resourceGroupMustExist } from './resource-group-check.js';

export interface DescribeActivationsInput {
  activationId?: string | undefined;
  instanceName?: string | undefined;
  resourceGroupId?: string | undefined;
  tags: readonly RawTag[];
}

/** CreateActivation, DescribeActivations, DisableActivation, DeleteActivation. */
export class ActivationService {
  constructor(
    private readonly store: Store,
    private readonly nowMs: () => number,
  ) {}

  /** Returns the activation and its code; only the code's hash is stored, so this is the one chance to see it. */
  async create(
    regionId: string,
    input: CreateActivationInput,
  ): Promise<{ activation: Activation; code: string }> {
    const draft = validateCreateActivation(input);
    await resourceGroupMustExist(this.store, draft.resourceGroupId);
    const code = newActivationCode();
    const activation = await this.store.activations.insert({
      ...draft,
      id: newActivationId(),
      regionId,
      codeHash: sha256Hex(code),
      registeredCount: 0,
      deregisteredCount: 0,
      disabled: false,
      createdAtMs: this.nowMs(),
    });
    return { activation, code };
  }

  describe(regionId: string, input: DescribeActivationsInput, page: PageRequest): Promise<Page<Activation>> {
    const tags = validateTagFilters(input.tags);
    return this.store.activations.list({ regionId, ...input, tags }, page);
  }

  async disable(regionId: string, id: string): Promise<Activation> {
    if (!(await this.store.activations.disable(regionId, id))) throw new ApiError('ActivationId.NotFound');
    return (
      (await this.store.activations.get(regionId, id)) ??
      Promise.reject(new ApiError('ActivationId.NotFound'))
    );
  }

  async delete(regionId: string, id: string): Promise<Activation> {
    const activation = await this.store.activations.get(regionId, id);
    if (!activation) throw new ApiError('ActivationId.NotFound');
    const outcome = await this.store.activations.delete(regionId, id);
    if (outcome === 'missing') throw new ApiError('ActivationId.NotFound');
    if (outcome === 'in-use') {
      throw new ApiError('ActivationId.InUse', 'Managed instances registered with it still exist.');
    }
    return activation;
  }
}
