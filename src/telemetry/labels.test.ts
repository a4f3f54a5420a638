import { describe, expect, it } from 'vitest';
import type { FleetGauges } from '../store/store.js';
import { boundedLabel, fleetCache, repeatModeLabels, runStatusLabels, topVersions } from './labels.js';

describe('label values from fixed sets', () => {
  it('keeps known repeat modes and statuses, and names anything else "other"', () => {
    expect(boundedLabel('Once', repeatModeLabels)).toBe('Once');
    expect(boundedLabel('File', repeatModeLabels)).toBe('File');
    expect(boundedLabel('t-0123456789', repeatModeLabels)).toBe('other');
    expect(boundedLabel('Aborted', runStatusLabels)).toBe('Aborted');
    expect(boundedLabel('Exploded', runStatusLabels)).toBe('other');
  });
});

describe('topVersions (agents_by_version: 20 versions at most)', () => {
  it('keeps the most common versions and sums the rest as "other"', () => {
    const versions = Array.from({ length: 25 }, (_, i) => ({ version: `0.${i}.0`, count: i + 1 }));
    const top = topVersions(versions);
    expect(top).toHaveLength(21);
    expect(top[0]).toEqual({ version: '0.24.0', count: 25 });
    // 1 + 2 + 3 + 4 + 5: the five least common.
    expect(top.at(-1)).toEqual({ version: 'other', count: 15 });
  });

  it('clips a long version, names an empty one, and merges what clipping made equal', () => {
    const long = 'v'.repeat(100);
    expect(
      topVersions([
        { version: `${long}a`, count: 1 },
        { version: `${long}b`, count: 2 },
        { version: '', count: 4 },
      ]),
    ).toEqual([
      { version: 'unknown', count: 4 },
      { version: 'v'.repeat(64), count: 3 },
    ]);
  });
});

describe('fleetCache', () => {
  const fleet = { online: 1 } as FleetGauges;

  it('reads once per window, however many gauges ask', async () => {
    let reads = 0;
    const cached = fleetCache(async () => {
      reads++;
      return fleet;
    }, 5_000);
    await Promise.all([cached(1_000), cached(1_000), cached(5_999)]);
    expect(reads).toBe(1);
    await cached(6_000);
    expect(reads).toBe(2);
  });

  it('forgets a failed read, so the next scrape tries again', async () => {
    let reads = 0;
    const cached = fleetCache(async () => {
      reads++;
      if (reads === 1) throw new Error('database gone');
      return fleet;
    }, 5_000);
    const failures: unknown[] = [];
    const told = fleetCache(
      async () => {
        throw new Error('database gone');
      },
      5_000,
      (error) => failures.push(error),
    );
    expect(await cached(0)).toBeUndefined();
    expect(await cached(1)).toBe(fleet);
    expect(reads).toBe(2);
    await told(0);
    expect(failures).toHaveLength(1);
  });
});
