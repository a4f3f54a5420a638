/** A fire time being waited for. */
export interface Alarm {
  cancel(): void;
}

// setTimeout takes at most 2^31-1 ms; a farther fire time is re-armed on the way.
const maxTimerMs = 2 ** 31 - 1;
// The timer wakes this early and the rest is spun: a Node timer can run up to a millisecond early
// or late against the wall clock (both are truncated to whole ms), and waking from epoll takes time.
const leadMs = 2;

/**
 * One timer for every fire time of a process's schedules, on one time source. Schedules due at the
 * same instant (many crons on `0 * * * * ?`, or the load generator's identities sharing a process)
 * fire in one pass: with a timer each, those due a millisecond after the timers phase began waited
 * for the next turn of the event loop, behind the others' frames (up to 160 ms for 250 of them).
 */
export class FireClock {
  /** The distinct fire times waited for, ascending. */
  private readonly times: number[] = [];
  private readonly due = new Map<number, Set<() => void>>();
  private timer: NodeJS.Timeout | undefined;
  /** The fire time the timer is set for. */
  private armedFor: number | undefined;
  /** False once the time source failed to reach a fire time in a spin: it is not following real time. */
  private spin = true;

  constructor(private readonly nowMs: () => number) {}

  /** Calls `fire` once `nowMs()` has reached `fireMs` (never before), with the others due then. */
  at(fireMs: number, fire: () => void): Alarm {
    const callback = () => fire(); // its own identity, however often `fire` is passed
    let fires = this.due.get(fireMs);
    if (!fires) {
      fires = new Set();
      this.due.set(fireMs, fires);
      const at = this.times.findIndex((time) => time > fireMs);
      this.times.splice(at === -1 ? this.times.length : at, 0, fireMs);
    }
    fires.add(callback);
    if (this.armedFor === undefined || fireMs < this.armedFor) this.arm();
    return { cancel: () => this.forget(fireMs, callback) };
  }

  /** Fire times waited for (for tests). */
  get pending(): number {
    return this.times.length;
  }

  private forget(fireMs: number, callback: () => void): void {
    const fires = this.due.get(fireMs);
    if (!fires?.delete(callback) || fires.size > 0) return;
    this.due.delete(fireMs);
    this.times.splice(this.times.indexOf(fireMs), 1);
    // Nothing left to wait for: no timer keeps the process alive.
    if (this.times.length === 0) this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    const next = this.times[0];
    this.armedFor = next;
    if (next === undefined) return;
    const waitMs = this.spin ? next - this.nowMs() - leadMs : Math.max(1, next - this.nowMs());
    this.timer = setTimeout(() => this.tick(), Math.min(maxTimerMs, Math.max(0, waitMs)));
  }

  private tick(): void {
    this.timer = undefined;
    this.armedFor = undefined;
    // Bounded in real time: a time source that does not move (a test's) is then polled instead.
    const spinUntil = performance.now() + leadMs + 1;
    for (let next = this.times[0]; next !== undefined; next = this.times[0]) {
      if (next - this.nowMs() > leadMs) break;
      while (this.spin && this.nowMs() < next && performance.now() < spinUntil) {
        // the last milliseconds are spun, so runs start on their exact millisecond
      }
      if (this.nowMs() < next) {
        this.spin = false;
        break;
      }
      this.spin = true;
      this.times.shift();
      const fires = this.due.get(next) ?? [];
      this.due.delete(next);
      for (const fire of fires) fire();
    }
    if (this.armedFor === undefined) this.arm();
  }
}

const clocks = new WeakMap<() => number, FireClock>();

/** The process's clock for a time source: every scheduler on `Date.now` shares one. */
export function fireClockOf(nowMs: () => number): FireClock {
  let clock = clocks.get(nowMs);
  if (!clock) {
    clock = new FireClock(nowMs);
    clocks.set(nowMs, clock);
  }
  return clock;
}
