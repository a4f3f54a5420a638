import { ApiError } from '../../domain/errors.js';
import type { AppliedResourceUsage } from '../../domain/resource-usage.js';
import type { Action } from '../action.js';
import { isoTime, optionalTime, readInstanceIds, readPaging, renderPage } from '../wire.js';

const maxInstances = 50;
const maxNameChars = 255;

/** The agent's caps as it reported them (an OpenAssist extension; the SDK's model has no place for them). */
export const renderResourceUsage = (applied: AppliedResourceUsage | undefined) =>
  applied === undefined
    ? { State: 'unreported' }
    : {
        State: applied.state,
        ...(applied.mechanism && { Mechanism: applied.mechanism }),
        ...(applied.cgroup !== undefined && { Cgroup: applied.cgroup }),
        ...(applied.cpuPercent !== undefined && { CpuLimit: applied.cpuPercent }),
        ...(applied.memoryBytes !== undefined && { MemoryLimitBytes: applied.memoryBytes }),
        ...(applied.reason !== undefined && { Reason: applied.reason }),
        ReportTime: isoTime(applied.reportedAtMs),
      };

/**
 * ListPluginStatus: the Cloud Assistant plugins of each managed instance. An OpenAssist agent has
 * no plugins (its runners are built in), so the set is empty; asked for a plugin by `Name`, each
 * instance answers it `NotInstalled`. Beside the model's fields each instance carries the agent's
 * own version, heartbeat and resource caps (extension fields, docs/agent-protocol.md, "Resource caps").
 */
export const listPluginStatus: Action = {
  name: 'ListPluginStatus',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instanceIds = readInstanceIds(params, maxInstances);
    const name = params.string('Name') ?? '';
    if (name.length > maxNameChars) {
      throw new ApiError('InvalidParameter', `Name is at most ${maxNameChars} characters.`);
    }
    const page = readPaging(params, maxInstances);
    const result = await services.instances.describe(
      regionId,
      { instanceIds: instanceIds.length > 0 ? instanceIds : undefined, tags: [] },
      page,
    );
    if (instanceIds.length > 0 && result.totalCount < new Set(instanceIds).size) {
      const found = await services.instances.describe(
        regionId,
        { instanceIds, tags: [] },
        { style: 'page', pageNumber: 1, pageSize: maxInstances },
      );
      const unknown = instanceIds.filter((id) => !found.items.some((instance) => instance.id === id));
      if (unknown.length > 0)
        throw new ApiError('InvalidInstance.NotFound', `Not found: ${unknown.slice(0, 5).join(', ')}.`);
    }
    const applied = await services.settings.appliedResourceUsage(result.items.map((instance) => instance.id));
    return {
      ...renderPage(page, result),
      InstancePluginStatusSet: {
        InstancePluginStatus: result.items.map((instance) => ({
          InstanceId: instance.id,
          PluginStatusSet: {
            PluginStatus: name === '' ? [] : [{ PluginName: name, PluginStatus: 'NotInstalled' }],
          },
          CloudAssistantVersion: instance.agentVersion,
          CloudAssistantStatus: String(services.instances.online(instance)),
          FirstHeartbeatTime: optionalTime(instance.registeredAtMs),
          LastHeartbeatTime: optionalTime(instance.lastHeartbeatAtMs),
          ResourceUsage: renderResourceUsage(applied.get(instance.id)),
        })),
      },
    };
  },
};
