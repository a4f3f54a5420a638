import { describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/deadline.js';
import { FireClock, fireClockOf } from './fire-clock.js';

describe('the fire clock', () => {
  it('fires everything due at one instant in one pass, never before its time', async () => {
    const clock = new FireClock(Date.now);
    const fireMs = Date.now() + 40;
    const fired: { name: string; atMs: number; afterOthersIo: boolean }[] = [];
    let ioRan = false;
    const fire = (name: string) => () => {
      // An immediate queued by the first fire runs only once the pass has given the loop back.
      if (fired.length === 0) setImmediate(() => (ioRan = true));
      fired.push({ name, atMs: Date.now(), afterOthersIo: ioRan });
    };
    clock.at(fireMs + 1, fire('d'));
    for (const name of ['a', 'b', 'c']) clock.at(fireMs, fire(name));
    await waitFor('four fires', () => (fired.length === 4 ? true : undefined));
    expect(fired.map((f) => f.name)).toEqual(['a', 'b', 'c', 'd']);
    expect(fired.every((f) => !f.afterOthersIo)).toBe(true);
    expect(fired.slice(0, 3).every((f) => f.atMs >= fireMs)).toBe(true);
    expect(fired[3]?.atMs).toBeGreaterThanOrEqual(fireMs + 1);
    expect(clock.pending).toBe(0);
  });

  it('forgets a cancelled fire time and keeps the others', async () => {
    const clock = new FireClock(Date.now);
    const fired: string[] = [];
    const soon = Date.now() + 20;
    clock.at(soon, () => fired.push('cancelled')).cancel();
    clock.at(soon, () => fired.push('kept'));
    clock.at(soon + 3_600_000, () => fired.push('later')).cancel();
    await waitFor('the kept fire', () => (fired.length > 0 ? true : undefined));
    expect({ fired, pending: clock.pending }).toEqual({ fired: ['kept'], pending: 0 });
  });

  it('waits for a time source that does not follow real time, without spinning on it', async () => {
    let nowMs = 1_000;
    const clock = new FireClock(() => nowMs);
    let fired = false;
    clock.at(1_001, () => (fired = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(fired).toBe(false);
    nowMs = 1_001;
    await waitFor('the fire once the source moves', () => (fired ? true : undefined));
  });

  it('is one clock per time source', () => {
    const source = () => 0;
    expect(fireClockOf(Date.now)).toBe(fireClockOf(Date.now));
    expect(fireClockOf(source)).not.toBe(fireClockOf(Date.now));
  });
});
