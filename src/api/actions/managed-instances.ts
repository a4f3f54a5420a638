import { addressScope, instanceIpFilter } from '../../domain/address-scope.js';
import { type ManagedInstance, osTypeFilter } from '../../domain/fleet.js';
import type { Action } from '../action.js';
import {
  isoTime,
  optional,
  optionalTime,
  readInstanceIds,
  readPaging,
  readTags,
  renderPage,
} from '../wire.js';

const describeFields = (instance: ManagedInstance) => ({
  ActivationId: instance.activationId,
  AgentVersion: instance.agentVersion,
  Hostname: instance.hostname,
  InstanceId: instance.id,
  InstanceName: instance.name,
  // One address is known, the one the agent registered from: shown where its range belongs.
  InternetIp: addressScope(instance.intranetIp) === 'internet' ? instance.intranetIp : '',
  IntranetIp: addressScope(instance.intranetIp) === 'intranet' ? instance.intranetIp : '',
  InvocationCount: instance.invocationCount,
  LastInvokedTime: optionalTime(instance.lastInvokedAtMs),
  MachineId: instance.machineId,
  OsType: instance.osType,
  OsVersion: instance.osVersion,
  RegistrationTime: isoTime(instance.registeredAtMs),
  ResourceGroupId: instance.resourceGroupId,
});

export const describeManagedInstances: Action = {
  name: 'DescribeManagedInstances',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const page = readPaging(params);
    const instanceIds = readInstanceIds(params, 50);
    const result = await services.instances.describe(
      regionId,
      {
        instanceIds: instanceIds.length > 0 ? instanceIds : undefined,
        activationId: params.string('ActivationId') || undefined,
        name: optional(params.string('InstanceName'), (exact) => ({ exact })),
        osType: optional(params.string('OsType'), (value) => osTypeFilter(value, 'OsType')),
        instanceIp: optional(params.string('InstanceIp'), instanceIpFilter),
        machineId: params.string('MachineId') || undefined,
        connected: params.boolean('Connected'),
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        tags: readTags(params),
      },
      page,
    );
    return {
      ...renderPage(page, result),
      // The SDK models this list without a wrapper; Connected is the live channel state.
      Instances: result.items.map((instance) => ({
        ...describeFields(instance),
        Connected: instance.connected,
        Tags: instance.tags.map((tag) => ({ TagKey: tag.key, TagValue: tag.value })),
      })),
    };
  },
};

export const modifyManagedInstance: Action = {
  name: 'ModifyManagedInstance',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instance = await services.instances.rename(
      regionId,
      params.required('InstanceId'),
      params.required('InstanceName'),
    );
    return { Instance: { InstanceId: instance.id, InstanceName: instance.name } };
  },
};

export const deregisterManagedInstance: Action = {
  name: 'DeregisterManagedInstance',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instance = await services.instances.deregister(regionId, params.required('InstanceId'));
    return { Instance: describeFields(instance) };
  },
};
