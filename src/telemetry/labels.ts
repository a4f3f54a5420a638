import { repeatModes } from '../domain/invocation.js';
import { instanceStatuses } from '../domain/invocation-status.js';
import type { FleetGauges } from '../store/store.js';

/**
 * Label values come from fixed sets, so a dashboard's series stay few however many instances and
 * invocations exist (docs/metrics.md, "Cardinality").
 */

/** Repeat modes as invocations_created_total names them; SendFile counts as "File". */
export const repeatModeLabels: ReadonlySet<string> = new Set([...repeatModes, 'File']);
export const runStatusLabels: ReadonlySet<string> = new Set(instanceStatuses);

/** The value when it is one of `known`, else "other". */
export const boundedLabel = (value: string, known: ReadonlySet<string>): string =>
  known.has(value) ? value : 'other';

/** The catalogue's bound on agents_by_version: 20 versions, the rest counted as "other". */
export const maxVersionLabels = 20;

/** The most common versions (ties by name, for a stable answer), the rest summed as "other". */
export function topVersions(
  versions: readonly { readonly version: string; readonly count: number }[],
  limit = maxVersionLabels,
): { version: string; count: number }[] {
  const merged = new Map<string, number>();
  // A version string is the agent's own text: clipped, so one label value stays small.
  for (const { version, count } of versions) {
    const name = version.slice(0, 64) || 'unknown';
    merged.set(name, (merged.get(name) ?? 0) + count);
  }
  const sorted = [...merged]
    .map(([version, count]) => ({ version, count }))
    .sort((a, b) => b.count - a.count || (a.version < b.version ? -1 : 1));
  if (sorted.length <= limit) return sorted;
  const rest = sorted.slice(limit).reduce((sum, entry) => sum + entry.count, 0);
  return [...sorted.slice(0, limit), { version: 'other', count: rest }];
}

// Several gauges read one fleet query per scrape; two scrapers (or a retry) within this long share it.
export const fleetCacheMs = 5_000;

/**
 * One read of the fleet's figures shared by every gauge of a scrape and reused for `fleetCacheMs`;
 * a failed read is not kept (the next scrape tries again) and shows as no samples.
 */
export function fleetCache(
  read: (nowMs: number) => Promise<FleetGauges> | undefined,
  maxAgeMs = fleetCacheMs,
  onError: (error: unknown) => void = () => undefined,
): (nowMs: number) => Promise<FleetGauges | undefined> {
  let cached: { atMs: number; value: Promise<FleetGauges | undefined> } | undefined;
  return (nowMs) => {
    if (cached && nowMs - cached.atMs < maxAgeMs) return cached.value;
    const value = (read(nowMs) ?? Promise.resolve(undefined)).catch((error: unknown) => {
      cached = undefined;
      onError(error);
      return undefined;
    });
    cached = { atMs: nowMs, value };
    return value;
  };
}
