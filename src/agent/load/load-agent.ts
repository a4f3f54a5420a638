import { protocolVersion } from '../../protocol/messages.js';
import { AgentChannel, type Order, systemClock } from '../channel.js';
import { wsSockets } from '../channel-ws.js';
import { Executor } from '../executor.js';
import type { HostFacts } from '../host-facts.js';
import type { Identity } from '../identity.js';
import type { JournalEvent } from '../journal.js';
import { Scheduler } from '../scheduler.js';
import { MemoryExecutor, type TaskExecutor } from './memory-executor.js';
import { MemoryJournal } from './memory-journal.js';

/** `memory` answers runs from memory (the control plane alone); `spawn` runs the real runner. */
export type LoadMode = 'memory' | 'spawn';

export interface LoadAgentOptions {
  /** Tried in turn, as the agent's `--server` list. */
  readonly serverUrls: readonly string[];
  readonly identity: Identity;
  readonly mode: LoadMode;
  /** What the hello reports; the hostname is the identity's own. */
  readonly facts: HostFacts;
  readonly hostname: string;
  readonly bootId: string;
  readonly agentVersion: string;
  /** Spawn mode: this identity's own work dir (script files are named by invocation). */
  readonly workDir: string;
  /** Memory mode: how long each run lasts (default 0: it ends at once). */
  readonly holdMs?: number;
  /** Told when the channel is welcomed and when it is lost, for the fleet's counters. */
  readonly onWelcome: () => void;
  readonly onLost: () => void;
}

/**
 * One identity of the load generator: the agent's own channel (channel.ts: hello, heartbeats,
 * journalled events re-sent until acknowledged, reconnects with backoff over the servers,
 * throttling, silence detection), the real scheduler, and either the real executor or the
 * in-memory one. One process holds thousands of them.
 */
export class LoadAgent {
  private readonly journal = new MemoryJournal();
  private readonly executor: TaskExecutor;
  private readonly scheduler: Scheduler;
  private readonly channel: AgentChannel;
  /** Settled by the first welcome, or by a refusal for good before it. */
  private firstWelcome: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(private readonly options: LoadAgentOptions) {
    const { identity, facts } = options;
    const emit = (event: JournalEvent) => this.channel.emit(event);
    this.executor =
      options.mode === 'memory'
        ? new MemoryExecutor(this.journal, emit, Date.now, options.holdMs)
        : new Executor({ journal: this.journal, emit, workDir: options.workDir, nowMs: Date.now });
    this.scheduler = new Scheduler({
      journal: this.journal,
      executor: this.executor,
      emit,
      nowMs: Date.now,
      timeZone: facts.timeZone,
    });
    this.channel = new AgentChannel({
      instanceId: identity.instanceId,
      serverUrls: options.serverUrls,
      openSocket: wsSockets({ instanceId: identity.instanceId, token: identity.token, sendPerTurn: true }),
      clock: systemClock,
      journal: this.journal,
      hello: () => ({
        type: 'hello',
        protocolVersion,
        agentVersion: options.agentVersion,
        bootId: options.bootId,
        hostname: options.hostname,
        osType: facts.osType,
        osVersion: facts.osVersion,
        timeZone: facts.timeZone,
        shells: facts.shells,
        schedules: this.scheduler.held(),
      }),
      activeTasks: () => this.executor.activeCount,
      health: () => this.journal.health(),
      onWelcome: () => {
        options.onWelcome();
        this.firstWelcome?.resolve();
        this.firstWelcome = undefined;
      },
      onOrder: (order) => this.obey(order),
      onLost: options.onLost,
      onRejected: (why) => {
        this.firstWelcome?.reject(new Error(why));
        this.firstWelcome = undefined;
      },
    });
  }

  get instanceId(): string {
    return this.options.identity.instanceId;
  }

  /** Runs that have finished here (a schedule's runs included, its end not). */
  get finishedRuns(): number {
    return this.journal.finishedRuns;
  }

  private obey(order: Order): void {
    switch (order.type) {
      case 'task':
        if (order.task.schedule) this.scheduler.add(order.task);
        else this.executor.submit(order.task);
        return;
      case 'cancel':
        this.scheduler.cancel(order.invokeId);
        this.executor.cancel(order.invokeId, order.terminationMode);
        return;
    }
  }

  /** Opens the channel, again after every loss; resolves at the first welcome, rejects if refused for good. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstWelcome = { resolve, reject };
      this.channel.start();
    });
  }

  async stop(): Promise<void> {
    this.channel.stop();
    this.scheduler.stop();
    await this.executor.stopAll();
    this.channel.close('load generator stopping');
  }
}
