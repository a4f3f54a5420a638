import type { Command } from 'commander';
import { printJson, printTable, statusText } from '../presenter.js';
import { allPages, openSession, type SessionFlags, verb } from '../session.js';

interface Instance {
  InstanceId: string;
  InstanceName: string;
  Hostname: string;
  AgentVersion: string;
  OsType: string;
  OsVersion: string;
  IntranetIp: string;
  InternetIp: string;
  Connected: boolean;
  Tags: { TagKey: string; TagValue: string }[];
}

interface AgentStatus {
  InstanceId: string;
  CloudAssistantStatus: string;
  LastHeartbeatTime: string;
}

interface InstancesFlags extends SessionFlags {
  tag?: string[];
}

/** `openassist instances`: every managed instance with its agent's state and last heartbeat. */
export function registerInstances(program: Command): void {
  verb(program, 'instances', 'list managed instances and their agents', 'openassist instances --tag env=prod')
    .option('--tag <key=value...>', 'only instances with these tags')
    .action(async (flags: InstancesFlags) => {
      const { call, p } = await openSession(flags);
      const tags: Record<string, string> = {};
      (flags.tag ?? []).forEach((pair, index) => {
        const eq = pair.indexOf('=');
        tags[`Tag.${index + 1}.Key`] = eq < 0 ? pair : pair.slice(0, eq);
        if (eq >= 0) tags[`Tag.${index + 1}.Value`] = pair.slice(eq + 1);
      });
      const instances = await allPages(async (NextToken) => {
        const body = await call<{ Instances: Instance[]; NextToken?: string }>('DescribeManagedInstances', {
          MaxResults: 50,
          NextToken,
          ...tags,
        });
        return { items: body.Instances, nextToken: body.NextToken };
      });
      const statuses = new Map<string, AgentStatus>();
      for (let at = 0; at < instances.length; at += 50) {
        const ids = instances.slice(at, at + 50).map((instance) => instance.InstanceId);
        const body = await call<{
          InstanceCloudAssistantStatusSet: { InstanceCloudAssistantStatus: AgentStatus[] };
        }>(
          'DescribeCloudAssistantStatus',
          Object.fromEntries(ids.map((id, index) => [`InstanceId.${index + 1}`, id])),
        );
        for (const status of body.InstanceCloudAssistantStatusSet.InstanceCloudAssistantStatus)
          statuses.set(status.InstanceId, status);
      }
      if (p.json) {
        printJson(
          p,
          instances.map((instance) => ({
            ...instance,
            CloudAssistantStatus: statuses.get(instance.InstanceId)?.CloudAssistantStatus,
            LastHeartbeatTime: statuses.get(instance.InstanceId)?.LastHeartbeatTime,
          })),
        );
        return;
      }
      printTable(
        p,
        ['Instance', 'Name', 'Agent', 'Version', 'OS', 'IP', 'Last heartbeat', 'Tags'],
        instances.map((instance) => [
          instance.InstanceId,
          instance.InstanceName,
          statusText(p, instance.Connected ? 'Online' : 'Offline'),
          instance.AgentVersion,
          `${instance.OsType} ${instance.OsVersion}`.trim(),
          // The server fills one of the two, by the address's range.
          instance.IntranetIp || instance.InternetIp,
          statuses.get(instance.InstanceId)?.LastHeartbeatTime,
          instance.Tags.map((tag) => `${tag.TagKey}=${tag.TagValue}`).join(' '),
        ]),
      );
    });
}
