import { ApiError } from './errors.js';
import type { Tag } from './tags.js';

/** An activation: a code that lets up to `instanceCount` machines register within its lifetime. */
export interface Activation {
  readonly seq: number;
  readonly id: string;
  readonly regionId: string;
  /** SHA-256 of the activation code; the code itself is shown once, at creation. */
  readonly codeHash: string;
  readonly instanceName: string;
  readonly instanceCount: number;
  readonly registeredCount: number;
  readonly deregisteredCount: number;
  readonly ttlHours: number;
  readonly ipAddressRange: string;
  readonly description: string;
  readonly disabled: boolean;
  readonly resourceGroupId: string;
  readonly createdAtMs: number;
  readonly tags: Tag[];
}

export type InstanceState = 'Running' | 'Stopped';

/** A managed instance: a machine whose agent registered with an activation. */
export interface ManagedInstance {
  readonly seq: number;
  readonly id: string;
  readonly regionId: string;
  readonly activationId: string;
  readonly name: string;
  readonly hostname: string;
  readonly osType: 'linux' | 'windows';
  readonly osVersion: string;
  readonly agentVersion: string;
  readonly machineId: string;
  readonly intranetIp: string;
  /** SHA-256 of the agent's secret token. */
  readonly tokenHash: string;
  readonly status: InstanceState;
  readonly bootId: string;
  readonly timeZone: string;
  readonly shells: string[];
  /** True while the agent's channel is open (on any server node). */
  readonly connected: boolean;
  readonly lastHeartbeatAtMs: number;
  readonly lastInvokedAtMs: number;
  readonly invocationCount: number;
  readonly resourceGroupId: string;
  readonly registeredAtMs: number;
  readonly tags: Tag[];
  /** The agent's last health report; absent before one (an older agent sends none). */
  readonly health?: AgentHealth | undefined;
}

/** What an agent says of itself with its heartbeats (docs/agent-protocol.md, "Health"). */
export interface AgentHealth {
  /** The size of its journal file. */
  readonly journalBytes: number;
  /** Events it journalled that the server has not acknowledged yet. */
  readonly pendingEvents: number;
  /** When the server received the report. */
  readonly reportedAtMs: number;
}

export const activationExpiresAtMs = (activation: Activation): number =>
  activation.createdAtMs + activation.ttlHours * 3_600_000;

/** The operating systems Alibaba lists for the `OsType`/`OSType` filters, in any case. */
const filterableOsTypes = ['linux', 'windows', 'freebsd'];

/**
 * An `OsType` (DescribeManagedInstances) or `OSType` (DescribeCloudAssistantStatus) filter,
 * lowercased as instances store it; another value is refused rather than matching nothing.
 */
export function osTypeFilter(value: string, parameter: string): string {
  const lower = value.toLowerCase();
  if (!filterableOsTypes.includes(lower)) {
    throw new ApiError('InvalidParameter', `${parameter} must be Linux, Windows or FreeBSD.`);
  }
  return lower;
}
