import type { Activation } from '../../domain/fleet.js';
import type { Action } from '../action.js';
import { isoTime, readPaging, readTags, renderPage } from '../wire.js';

// The SDK models these lists without the usual wrapper: `ActivationList[]`, `Tags[]`.
const renderActivation = (activation: Activation) => ({
  ActivationId: activation.id,
  CreationTime: isoTime(activation.createdAtMs),
  DeregisteredCount: activation.deregisteredCount,
  Description: activation.description,
  Disabled: activation.disabled,
  InstanceCount: activation.instanceCount,
  InstanceName: activation.instanceName,
  IpAddressRange: activation.ipAddressRange,
  RegisteredCount: activation.registeredCount,
  ResourceGroupId: activation.resourceGroupId,
  TimeToLiveInHours: activation.ttlHours,
  Tags: activation.tags.map((tag) => ({ TagKey: tag.key, TagValue: tag.value })),
});

export const createActivation: Action = {
  name: 'CreateActivation',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const { activation, code } = await services.activations.create(regionId, {
      instanceName: params.string('InstanceName'),
      instanceCount: params.integer('InstanceCount', 'ActivationLimitation.Invalid'),
      ttlHours: params.integer('TimeToLiveInHours', 'ActivationTTL.ExceedLimit'),
      ipAddressRange: params.string('IpAddressRange'),
      description: params.string('Description'),
      resourceGroupId: params.string('ResourceGroupId'),
      tags: readTags(params),
    });
    return { ActivationId: activation.id, ActivationCode: code };
  },
};

export const describeActivations: Action = {
  name: 'DescribeActivations',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const page = readPaging(params);
    const result = await services.activations.describe(
      regionId,
      {
        activationId: params.string('ActivationId') || undefined,
        instanceName: params.string('InstanceName') || undefined,
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        tags: readTags(params),
      },
      page,
    );
    return { ...renderPage(page, result), ActivationList: result.items.map(renderActivation) };
  },
};

export const disableActivation: Action = {
  name: 'DisableActivation',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const {
      Tags: _tags,
      ResourceGroupId: _group,
      ...activation
    } = renderActivation(await services.activations.disable(regionId, params.required('ActivationId')));
    return { Activation: activation };
  },
};

export const deleteActivation: Action = {
  name: 'DeleteActivation',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const {
      Tags: _tags,
      ResourceGroupId: _group,
      Disabled: _disabled,
      ...activation
    } = renderActivation(await services.activations.delete(regionId, params.required('ActivationId')));
    return { Activation: activation };
  },
};
