/**
 * What a key scoped to one resource group may call, and what each call must prove. `group`: the
 * key's group is sent as ResourceGroupId (a filter for Describe*, the group of what is created);
 * the others: the resources the request names must be in the key's group. Any action not listed
 * is refused to a scoped key (tags, resource groups, parameters, keys and cluster views span groups).
 */
export interface ScopeRule {
  readonly group?: boolean;
  /** `InstanceId` or `InstanceId.N` */
  readonly instances?: boolean;
  /** Without any InstanceId the action lists every group's instances: require them. */
  readonly instancesRequired?: boolean;
  readonly invocation?: boolean;
  readonly command?: boolean;
  readonly activation?: boolean;
  /** `SessionId`: the session's instance must be in the key's group. */
  readonly session?: boolean;
}

export const scopeRules: Readonly<Record<string, ScopeRule>> = {
  'ecs:DescribeRegions': {},
  'ecs:DescribeFrequencyPreview': {},
  'ecs:DescribeManagedInstances': { group: true, instances: true },
  'ecs:DescribeInstances': { group: true, instances: true },
  'ecs:DescribeCloudAssistantStatus': { instances: true, instancesRequired: true },
  'ecs:ListPluginStatus': { instances: true, instancesRequired: true },
  'ecs:InstallCloudAssistant': { instances: true, instancesRequired: true },
  'ecs:ModifyManagedInstance': { instances: true },
  'ecs:DeregisterManagedInstance': { instances: true },
  'ecs:CreateCommand': { group: true },
  'ecs:DescribeCommands': { group: true, command: true },
  'ecs:ModifyCommand': { command: true },
  'ecs:DeleteCommand': { command: true },
  'ecs:InvokeCommand': { group: true, instances: true, command: true },
  'ecs:RunCommand': { group: true, instances: true },
  'ecs:DescribeInvocations': { group: true, invocation: true, instances: true, command: true },
  'ecs:DescribeInvocationResults': { group: true, invocation: true, instances: true, command: true },
  'ecs:StopInvocation': { invocation: true, instances: true },
  'ecs:ModifyInvocationAttribute': { invocation: true, instances: true },
  'ecs:DescribeInvocationOutput': { invocation: true, instances: true },
  'ecs:StreamInvocationOutput': { invocation: true, instances: true },
  // The group is always the key's: a scoped key sees its group's runs only.
  'ecs:StreamInvocationEvents': { group: true },
  'ecs:SendFile': { group: true, instances: true },
  'ecs:DescribeSendFileResults': { group: true, invocation: true, instances: true },
  'ecs:CreateActivation': { group: true },
  'ecs:DescribeActivations': { group: true, activation: true },
  'ecs:DisableActivation': { activation: true },
  'ecs:DeleteActivation': { activation: true },
  // An upload belongs to the key that made it, so it never crosses into another group.
  'ecs:CreateFileUpload': {},
  'ecs:UploadFilePart': {},
  'ecs:DescribeFileUpload': {},
  'ecs:StartTerminalSession': { instances: true, instancesRequired: true },
  'ecs:DescribeTerminalSessions': { instances: true, instancesRequired: true },
  'ecs:EndTerminalSession': { session: true },
  'ecs:DescribeTerminalSessionRecording': { session: true },
};

/** The instance ids a request names: `InstanceId` and every `InstanceId.N`. */
export function namedInstanceIds(params: ReadonlyMap<string, string>): string[] {
  const ids: string[] = [];
  for (const [name, value] of params) {
    if ((name === 'InstanceId' || /^InstanceId\.\d+$/.test(name)) && value) ids.push(value);
  }
  return ids;
}
