import type { RepeatMode } from './invocation.js';
import { compareVersions } from './versions.js';

export { compareVersions };

/**
 * The oldest agent version able to run each feature, in one table (the seed: scheduled tasks need
 * a minimum Cloud Assistant Agent version; too old → ErrorCode `ClientNeedUpgrade` on that instance).
 * Agents before 0.2.0 know neither schedules nor numbered executions; before 0.3.0, no containers;
 * before 0.4.0, no file tasks (an older agent would run a file task's empty script and report
 * Success, so the server never sends it one); before 0.5.0, no terminal sessions.
 */
export const minimumAgentVersion = {
  Period: '0.2.0',
  NextRebootOnly: '0.2.0',
  EveryReboot: '0.2.0',
  containers: '0.3.0',
  files: '0.4.0',
  sessions: '0.5.0',
} as const satisfies Partial<Record<RepeatMode | Feature, string>>;

/** Features that are not repeat modes. */
export type Feature = 'containers' | 'files' | 'sessions';

/**
 * The newest minimum version among the features a task uses when `agentVersion` is older than it;
 * undefined when the agent can run the task.
 */
export function upgradeNeeded(
  features: readonly (RepeatMode | Feature)[],
  agentVersion: string,
): string | undefined {
  const table: Partial<Record<RepeatMode | Feature, string>> = minimumAgentVersion;
  const needed = features
    .map((feature) => table[feature])
    .filter(
      (minimum): minimum is string => minimum !== undefined && compareVersions(agentVersion, minimum) < 0,
    )
    .sort(compareVersions);
  return needed.at(-1);
}
