import { ApiError } from '../domain/errors.js';
import { namedInstanceIds, scopeRules } from '../domain/key-scope.js';
import { allows, type Policy, parsePolicy, productOfVersion } from '../domain/policy.js';
import type { AccessKey, Store } from '../store/store.js';

const forbidden = (why: string) => new ApiError('Forbidden.RAM', why);

export class Authorization {
  // A key's policy is parsed once, not on every call it signs (few keys, each with one document).
  private readonly policies = new Map<string, Policy>();

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
    const product = productOfVersion[version] ?? 'unknown';
    if (key.policy && !allows(this.policyOf(key.policy), product, action)) {
      throw forbidden(`The key's policy does not allow ${product}:${action}.`);
    }
    return key.resourceGroupId
      ? withinGroup(this.store, key.resourceGroupId, `${product}:${action}`, params)
      : Promise.resolve(params);
  }

  private policyOf(document: string): Policy {
    let policy = this.policies.get(document);
    if (!policy) {
      policy = parsePolicy(document);
      this.policies.set(document, policy);
    }
    return policy;
  }
}

/** A scoped key's request: only the listed actions, only its group's resources. */
async function withinGroup(
  store: Store,
  group: string,
  name: string,
  params: ReadonlyMap<string, string>,
): Promise<ReadonlyMap<string, string>> {
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
  const sessionId = params.get('SessionId');
  if (rule.session && sessionId) {
    const session = await store.terminalSessions.get(sessionId);
    const [instance] = session ? await store.instances.getMany(region, [session.instanceId]) : [];
    if (session && instance?.resourceGroupId !== group) throw outside('Session', sessionId);
  }
  return rule.group ? new Map([...params, ['ResourceGroupId', group]]) : params;
}
