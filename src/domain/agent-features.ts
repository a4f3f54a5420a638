import type { RepeatMode } from './invocation.js';

/**
 * The oldest agent version able to run each feature, in one table (the seed: scheduled tasks need
 * a minimum Cloud Assistant Agent version; too old → ErrorCode `ClientNeedUpgrade` on that instance).
 * Agents before 0.2.0 know neither schedules nor numbered executions; before 0.3.0, no containers.
 */
export const minimumAgentVersion = {
  Period: '0.2.0',
  NextRebootOnly: '0.2.0',
  EveryReboot: '0.2.0',
  containers: '0.3.0',
} as const satisfies Partial<Record<RepeatMode | Feature, string>>;

/** Features that are not repeat modes. */
export type Feature = 'containers';

/** Compares dotted versions numerically (`0.10.0` > `0.9.3`); a missing or non-numeric part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.split(/[.+-]/).map((part) => Number.parseInt(part, 10) || 0);
  const [left, right] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

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
