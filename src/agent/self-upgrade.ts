import { basename, dirname, join } from 'node:path';
import { parseZone, utcZone } from '../domain/time-zone.js';
import {
  parseWindow,
  type UpgradeWindow,
  upgradeDelayMs,
  windowRemainingMs,
} from '../domain/upgrade-window.js';
import { isNewerVersion } from '../domain/versions.js';
import type { UpgradeOffer } from '../protocol/messages.js';
import { discard, downloadExecutable, swapIn, trialRun, UpgradeError } from './upgrade-fetch.js';

/** The exit status of an agent that replaced its executable: its supervisor starts the new one. */
export const upgradeExitCode = 75;

/** After a failed attempt the same offer waits 1 min, then 2, 4 … up to an hour: never a tight loop. */
export const retryBackoff = { firstMs: 60_000, maxMs: 3_600_000 } as const;
/** Failed offers remembered for their backoff; the oldest is forgotten past this. */
const maxRememberedFailures = 16;

export interface SelfUpgradeDeps {
  /** The running agent's own version (not one a test makes it report). */
  readonly version: string;
  /** The file to replace: the single executable this process runs from. */
  readonly executablePath: string;
  /** False when running from the repository under node: such an agent cannot replace itself. */
  readonly selfUpgradable: boolean;
  /** The server the agent is connected to now (`http(s)://HOST:PORT`): downloads come from it. */
  readonly serverUrl: () => string;
  readonly ca: Buffer | undefined;
  /** Longest random delay before an upgrade starts, so a fleet does not download at one second. */
  readonly jitterMs: number;
  /** No task running or queued: the agent can restart without ending one. */
  readonly isQuiet: () => boolean;
  /**
   * Called in the same turn as a true `isQuiet()`, before the swap: the agent takes no more tasks
   * (one sent now stays undelivered and goes to the new agent after its hello).
   */
  readonly stopTakingTasks: () => void;
  /** The swap failed: the agent goes on as before. */
  readonly resumeTakingTasks: () => void;
  /** The new executable is in place: the agent stops and exits with `upgradeExitCode`. */
  readonly restart: (version: string) => void;
  readonly say: (line: string) => void;
  readonly nowMs?: () => number;
  readonly random?: () => number;
  /** How often the window and quietness are looked at again (default 1 s and 60 s). */
  readonly quietCheckMs?: number;
  readonly windowCheckMs?: number;
}

type Phase = 'waiting' | 'fetching' | 'staged' | 'restarting';

interface Pursuit {
  offer: UpgradeOffer;
  readonly key: string;
  phase: Phase;
  timer: NodeJS.Timeout | undefined;
  staged: string | undefined;
}

const offerKey = (offer: UpgradeOffer) => `${offer.version}/${offer.sha256}`;

/**
 * The agent's side of server-driven upgrades. On an offer newer than itself it waits for the
 * window plus a random jitter, downloads the executable from the server, checks its size and
 * sha256, runs it once with `--version`, then waits until no task runs, swaps the file in and
 * restarts. Any failure leaves the old executable in place, is said once, and the same offer is
 * retried only after a growing backoff; a different offer (a fixed file) is tried at once.
 */
export class SelfUpgrade {
  private pursuit: Pursuit | undefined;
  private readonly failures = new Map<string, { count: number; untilMs: number }>();
  private saidCannot = '';
  private stopped = false;
  private readonly nowMs: () => number;
  private readonly random: () => number;

  constructor(private readonly deps: SelfUpgradeDeps) {
    this.nowMs = deps.nowMs ?? Date.now;
    this.random = deps.random ?? Math.random;
  }

  /** The server offers its executable (on hello, on a changed setting, every 30 s). */
  offer(offer: UpgradeOffer): void {
    if (this.stopped || !isNewerVersion(offer.version, this.deps.version)) return;
    if (!this.deps.selfUpgradable) {
      if (this.saidCannot !== offer.version) {
        this.deps.say(
          `the server offers agent ${offer.version}, but this agent runs from a checkout under node and cannot replace itself: update the checkout (git pull, npm ci, npm run build) or install the single executable`,
        );
      }
      this.saidCannot = offer.version;
      return;
    }
    const key = offerKey(offer);
    const current = this.pursuit;
    if (current?.key === key) {
      current.offer = offer; // the windows may have changed
      return;
    }
    // Another version or file: the one being fetched or swapped finishes first; a waiting one yields.
    if (current && (current.phase === 'fetching' || current.phase === 'restarting')) return;
    if (current) this.abandon(current);
    const failure = this.failures.get(key);
    if (failure && this.nowMs() < failure.untilMs) return;
    this.pursuit = { offer, key, phase: 'waiting', timer: undefined, staged: undefined };
    this.planStart(this.pursuit);
  }

  /** The agent stops: nothing more starts, a staged download is removed. */
  stop(): void {
    this.stopped = true;
    if (this.pursuit && this.pursuit.phase !== 'restarting') this.abandon(this.pursuit);
  }

  private windowRemainingMs(offer: UpgradeOffer): number {
    const windows = offer.windows.map(parseWindow).filter((w): w is UpgradeWindow => w !== undefined);
    if (windows.length < offer.windows.length) return 0; // a window this agent cannot read: never guess
    return windowRemainingMs(windows, parseZone(offer.timeZone) ?? utcZone, this.nowMs());
  }

  /** Inside a window: start after a jitter that ends within it; outside: look again later. */
  private planStart(pursuit: Pursuit): void {
    const remainingMs = this.windowRemainingMs(pursuit.offer);
    if (remainingMs <= 0) {
      pursuit.timer = setTimeout(() => this.planStart(pursuit), this.deps.windowCheckMs ?? 60_000);
    } else {
      const delayMs = upgradeDelayMs(this.deps.jitterMs, remainingMs, this.random());
      pursuit.timer = setTimeout(() => void this.fetch(pursuit), delayMs);
    }
    pursuit.timer.unref?.();
  }

  private async fetch(pursuit: Pursuit): Promise<void> {
    if (this.pursuit !== pursuit || this.stopped) return;
    if (this.windowRemainingMs(pursuit.offer) <= 0) return this.planStart(pursuit);
    pursuit.phase = 'fetching';
    const { offer } = pursuit;
    const target = this.deps.executablePath;
    // Beside the executable, so the swap is a rename within one file system; one fixed name (one
    // agent per state dir), so a download a crash left behind is overwritten, never piled up.
    const staged = join(dirname(target), `.${basename(target)}.upgrade`);
    pursuit.staged = staged;
    const startedMs = this.nowMs();
    try {
      const server = new URL(this.deps.serverUrl());
      const url = new URL(offer.path, server);
      if (url.origin !== server.origin)
        throw new UpgradeError(`${offer.path.slice(0, 80)} is not on the server`);
      await downloadExecutable(
        { url, ca: this.deps.ca, sizeBytes: offer.sizeBytes, sha256: offer.sha256 },
        staged,
      );
      await trialRun(staged, offer.version);
    } catch (error) {
      return this.failed(pursuit, error);
    }
    if (this.pursuit !== pursuit || this.stopped) {
      await discard(staged); // the agent stopped meanwhile
      return;
    }
    this.deps.say(
      `agent ${offer.version} downloaded, verified and tried in ${this.nowMs() - startedMs} ms; restarting when no task runs`,
    );
    pursuit.phase = 'staged';
    this.swapWhenQuiet(pursuit, staged);
  }

  private swapWhenQuiet(pursuit: Pursuit, staged: string): void {
    if (this.pursuit !== pursuit || this.stopped) return;
    if (this.windowRemainingMs(pursuit.offer) <= 0) {
      this.deps.say(
        `the upgrade window closed before the tasks ended; agent ${pursuit.offer.version} waits for the next one`,
      );
      this.abandon(pursuit);
      return;
    }
    if (!this.deps.isQuiet()) {
      pursuit.timer = setTimeout(() => this.swapWhenQuiet(pursuit, staged), this.deps.quietCheckMs ?? 1_000);
      pursuit.timer.unref?.();
      return;
    }
    // Quiet now, and no task is taken from this turn on: none is cut short by the restart.
    this.deps.stopTakingTasks();
    pursuit.phase = 'restarting';
    swapIn(staged, this.deps.executablePath).then(
      () => {
        this.deps.say(`upgraded to agent ${pursuit.offer.version}; restarting`);
        this.deps.restart(pursuit.offer.version);
      },
      (error: unknown) => {
        this.deps.resumeTakingTasks();
        this.failed(pursuit, error);
      },
    );
  }

  private failed(pursuit: Pursuit, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    const previous = this.failures.get(pursuit.key)?.count ?? 0;
    const waitMs = Math.min(retryBackoff.firstMs * 2 ** previous, retryBackoff.maxMs);
    this.failures.delete(pursuit.key);
    this.failures.set(pursuit.key, { count: previous + 1, untilMs: this.nowMs() + waitMs });
    const oldest = this.failures.keys().next().value;
    if (this.failures.size > maxRememberedFailures && oldest !== undefined) this.failures.delete(oldest);
    this.deps.say(
      `upgrade to agent ${pursuit.offer.version} failed, the current executable keeps running: ${reason}; next try in ${Math.round(waitMs / 1000)} s at the earliest`,
    );
    this.abandon(pursuit);
  }

  private abandon(pursuit: Pursuit): void {
    clearTimeout(pursuit.timer);
    if (pursuit.staged) void discard(pursuit.staged);
    if (this.pursuit === pursuit) this.pursuit = undefined;
  }
}
