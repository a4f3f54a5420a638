import { ApiError } from '../domain/errors.js';
import { namedInstanceIds, scopeRules } from '../domain/key-scope.js';
import { allows, parsePolicy, productOfVersion } from '../domain/policy.js';
import type { AccessKey, Store } from '../store/store.js';

const forbidden = (why: string) => new ApiError('Forbidden.RAM', why);

export class Authorization {
  constructor(private readonly store: Store) {}

  /**
   * RAM's check between the signature and the parameters: the key's policy must allow the action,
   * and a key scoped to a resource group reaches only that group. Returns the parameters the action
   * runs with: a scoped key's group is added as ResourceGroupId where the action takes one.
   */
  authorize(
    key: AccessKey,
    version: string,
    action: string,
    params: ReadonlyMap<string, string>,
  ): Promise<ReadonlyMap<string, string>> {
    return authorize(this.store, key, version, action, params);
  }
}

async function authorize(
  store: Store,
  key: AccessKey,
  version: string,
  action: string,
  params: ReadonlyMap<string, string>,
): Promise<ReadonlyMap<string, string>> {
  const name = `${productOfVersion[version] ?? 'unknown'}:${action}`;
  if (key.policy && !allows(parsePolicy(key.policy), productOfVersion[version] ?? 'unknown', action)) {
    throw forbidden(`The key's policy does not allow ${name}.`);
  }
  const group = key.resourceGroupId;
  if (!group) return params;
  const rule = scopeRules[name];
  if (!rule) throw forbidden(`${name} is not available to a key scoped to resource group ${group}.`);
  const given = params.get('ResourceGroupId');
  if (given && given !== group) throw forbidden(`The key is scoped to resource group ${group}.`);
  const region = params.get('RegionId') ?? '';
  const outside = (what: string, id: string) =>
    forbidden(`${what} ${id.slice(0, 80)} is not in resource group ${group}.`);

  if (rule.instances) {
    const ids = namedInstanceIds(params);
    if (rule.instancesRequired && ids.length === 0) {
      throw forbidden(`A key scoped to resource group ${group} must name the instances (InstanceId.N).`);
    }
    for (const instance of await store.instances.getMany(region, ids)) {
      if (instance.resourceGroupId !== group) throw outside('Instance', instance.id);
    }
  }
  const invokeId = params.get('InvokeId');
  if (rule.invocation && invokeId) {
    const invocation = await store.invocations.get(region, invokeId);
    if (invocation && invocation.resourceGroupId !== group) throw outside('Invocation', invokeId);
  }
  const commandId = params.get('CommandId');
  if (rule.command && commandId) {
    const command = await store.commands.get(region, commandId);
    if (command && command.resourceGroupId !== group) throw outside('Command', commandId);
  }
  const activationId = params.get('ActivationId');
  if (rule.activation && activationId) {
    const activation = await store.activations.get(region, activationId);
    if (activation && activation.resourceGroupId !== group) throw outside('Activation', activationId);
  }
  return rule.group ? new Map([...params, ['ResourceGroupId', group]]) : params;
}
