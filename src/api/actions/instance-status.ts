import { upgradeNeeded } from '../../domain/agent-features.js';
import { ApiError } from '../../domain/errors.js';
import { type ManagedInstance, osTypeFilter } from '../../domain/fleet.js';
import type { PageRequest } from '../../domain/paging.js';
import { textPattern } from '../../domain/text-pattern.js';
import type { Action } from '../action.js';
import {
  isoTime,
  optional,
  optionalTime,
  readInstanceIds,
  readPaging,
  readTags,
  renderPage,
  renderTags,
} from '../wire.js';
import { renderResourceUsage } from './plugin-status.js';

const statuses = ['Pending', 'Running', 'Starting', 'Stopping', 'Stopped'];

/** DescribeInstances' `InstanceIds`: a JSON array of at most 100 ids, as a string. */
function readInstanceIdsJson(text: string | undefined): string[] | undefined {
  if (text === undefined || text === '') return undefined;
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch {
    throw new ApiError('InvalidInstanceIds.Malformed', 'InstanceIds must be a JSON array of strings.');
  }
  if (!Array.isArray(ids) || ids.length > 100 || !ids.every((id) => typeof id === 'string' && id !== '')) {
    throw new ApiError(
      'InvalidInstanceIds.Malformed',
      'InstanceIds must be a JSON array of at most 100 ids, none empty.',
    );
  }
  return ids;
}

const osName = (instance: ManagedInstance) => instance.osVersion || instance.osType;

/** The ECS DescribeInstances subset that makes sense for managed instances (fact sheet §8). */
export const describeInstances: Action = {
  name: 'DescribeInstances',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instanceIds = readInstanceIdsJson(params.string('InstanceIds'));
    const status = params.string('Status') || undefined;
    if (status !== undefined && !statuses.includes(status)) throw new ApiError('InvalidStatus.NotFound');
    const page = readPaging(params, 100);
    const result = await services.instances.describe(
      regionId,
      {
        instanceIds,
        status,
        name: optional(params.string('InstanceName'), (name) => textPattern(name, 'withWildcards')),
        zoneId: params.string('ZoneId') || undefined,
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        tags: readTags(params),
      },
      page,
    );
    return {
      ...renderPage(page, result),
      Instances: {
        Instance: result.items.map((instance) => ({
          InstanceId: instance.id,
          InstanceName: instance.name,
          HostName: instance.hostname,
          Status: instance.status,
          OSType: instance.osType,
          OSName: osName(instance),
          OSNameEn: osName(instance),
          RegionId: instance.regionId,
          ZoneId: '',
          ResourceGroupId: instance.resourceGroupId,
          InstanceType: 'managed',
          ImageId: '',
          CreationTime: isoTime(instance.registeredAtMs).slice(0, 16).concat('Z'),
          Tags: renderTags(instance.tags),
        })),
      },
    };
  },
};

export const describeCloudAssistantStatus: Action = {
  name: 'DescribeCloudAssistantStatus',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const instanceIds = readInstanceIds(params, 100);
    const osType = optional(params.string('OSType'), (value) => osTypeFilter(value, 'OSType'));
    // "If InstanceId is set, this parameter is ignored": every named instance is answered.
    const page: PageRequest =
      instanceIds.length > 0 ? { style: 'page', pageNumber: 1, pageSize: 100 } : readPaging(params);
    const result = await services.instances.describe(
      regionId,
      { instanceIds: instanceIds.length > 0 ? instanceIds : undefined, osType, tags: [] },
      page,
    );
    if (instanceIds.length > 0) {
      const found = await services.instances.describe(
        regionId,
        { instanceIds, tags: [] },
        { style: 'page', pageNumber: 1, pageSize: 100 },
      );
      const unknown = instanceIds.filter((id) => !found.items.some((instance) => instance.id === id));
      if (unknown.length > 0)
        throw new ApiError('InvalidInstance.NotFound', `Not found: ${unknown.slice(0, 5).join(', ')}.`);
    }
    const applied = await services.settings.appliedResourceUsage(result.items.map((instance) => instance.id));
    const set = await Promise.all(
      result.items.map(async (instance) => ({
        InstanceId: instance.id,
        CloudAssistantStatus: String(services.instances.online(instance)),
        CloudAssistantVersion: instance.agentVersion,
        OSType: instance.osType === 'windows' ? 'Windows' : 'Linux',
        LastHeartbeatTime: optionalTime(instance.lastHeartbeatAtMs),
        LastInvokedTime: optionalTime(instance.lastInvokedAtMs),
        InvocationCount: instance.invocationCount,
        ActiveTaskCount: await services.instances.activeTasks(instance.id),
        // Its agent can serve terminal sessions: Linux, 0.5.0 or later.
        SupportSessionManager:
          instance.osType === 'linux' && upgradeNeeded(['sessions'], instance.agentVersion) === undefined,
        // OpenAssist extensions (docs/metrics.md, "Per instance"): the agent's health as its last
        // heartbeat reported it (absent from an agent too old to report), and its resource caps.
        ...(instance.health && {
          JournalBytes: instance.health.journalBytes,
          PendingEvents: instance.health.pendingEvents,
          HealthReportTime: isoTime(instance.health.reportedAtMs),
        }),
        ResourceUsage: renderResourceUsage(applied.get(instance.id)),
      })),
    );
    return {
      ...renderPage(page, result),
      InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: set },
    };
  },
};
