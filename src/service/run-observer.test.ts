import { describe, expect, it } from 'vitest';
import { dispatchStartMs } from './run-observer.js';

describe('dispatchStartMs (where a dispatch latency starts)', () => {
  const row = (execution: number, scheduledAtMs = 0) => ({ execution, createdAtMs: 5_000, scheduledAtMs });

  it("starts at the row's creation for a task delivered when it is made", () => {
    expect(dispatchStartMs('Once', row(0))).toBe(5_000);
    expect(dispatchStartMs('Period', row(0))).toBe(5_000);
    // An EveryReboot run is made by the boot that arms it.
    expect(dispatchStartMs('EveryReboot', row(3))).toBe(5_000);
  });

  it('measures nothing for a row waiting for a boot or a run the agent fired itself', () => {
    expect(dispatchStartMs('NextRebootOnly', row(0))).toBeUndefined();
    expect(dispatchStartMs('EveryReboot', row(0))).toBeUndefined();
    expect(dispatchStartMs('Period', row(4, 9_000))).toBeUndefined();
  });
});
