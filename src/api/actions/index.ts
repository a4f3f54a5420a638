import type { Action } from '../action.js';
import { accessKeyActions } from './access-keys.js';
import { createActivation, deleteActivation, describeActivations, disableActivation } from './activations.js';
import { describeCloudAssistantSettings, modifyCloudAssistantSettings } from './cloud-assistant-settings.js';
import { createCommand } from './create-command.js';
import { deleteCommand } from './delete-command.js';
import { describeCommands } from './describe-commands.js';
import { describeRegions } from './describe-regions.js';
import { fileUploadActions } from './file-uploads.js';
import { describeFrequencyPreview } from './frequency-preview.js';
import { installCloudAssistant } from './install-cloud-assistant.js';
import { describeCloudAssistantStatus, describeInstances } from './instance-status.js';
import { describeInvocationOutput, streamInvocationOutput } from './invocation-output.js';
import { describeInvocationResults } from './invocation-results.js';
import {
  describeInvocations,
  invokeCommand,
  modifyInvocationAttribute,
  runCommand,
  stopInvocation,
} from './invocations.js';
import { lookupEvents } from './lookup-events.js';
import {
  deregisterManagedInstance,
  describeManagedInstances,
  modifyManagedInstance,
} from './managed-instances.js';
import { modifyCommand } from './modify-command.js';
import { parameterStoreActions } from './parameters.js';
import { listPluginStatus } from './plugin-status.js';
import {
  createResourceGroup,
  deleteResourceGroup,
  joinResourceGroup,
  listResourceGroups,
} from './resource-groups.js';
import { describeSendFileResults, sendFile } from './send-file.js';
import { describeServerNodes } from './server-nodes.js';
import { listTagResources, tagResources, untagResources } from './tags.js';
import { terminalSessionActions } from './terminal-sessions.js';
import { webhookActions } from './webhooks.js';

export const ecsVersion = '2014-05-26';

/** Actions are found by API version and wire name (case-sensitive, as Alibaba's). */
export const actionKey = (version: string, name: string): string => `${version}/${name}`;

/** Every operation the endpoint serves. */
const all: readonly Action[] = [
  createCommand,
  describeCommands,
  modifyCommand,
  deleteCommand,
  describeRegions,
  describeServerNodes,
  createActivation,
  describeActivations,
  disableActivation,
  deleteActivation,
  describeManagedInstances,
  modifyManagedInstance,
  deregisterManagedInstance,
  describeInstances,
  describeCloudAssistantStatus,
  installCloudAssistant,
  modifyCloudAssistantSettings,
  describeCloudAssistantSettings,
  listPluginStatus,
  invokeCommand,
  runCommand,
  describeInvocations,
  describeInvocationResults,
  stopInvocation,
  modifyInvocationAttribute,
  sendFile,
  describeSendFileResults,
  describeInvocationOutput,
  streamInvocationOutput,
  describeFrequencyPreview,
  tagResources,
  untagResources,
  listTagResources,
  createResourceGroup,
  listResourceGroups,
  deleteResourceGroup,
  joinResourceGroup,
  ...parameterStoreActions,
  ...fileUploadActions,
  ...terminalSessionActions,
  ...accessKeyActions,
  ...webhookActions,
  lookupEvents,
];

export const actions: ReadonlyMap<string, Action> = new Map(
  all.map((action) => [actionKey(action.version ?? ecsVersion, action.name), action]),
);
/** Every action name served, whatever its version (the metrics' bounded `action` label). */
export const servedActionNames: ReadonlySet<string> = new Set(all.map((action) => action.name));
export const servedVersions: ReadonlySet<string> = new Set(all.map((action) => action.version ?? ecsVersion));
