import type { ManagedInstance } from '../domain/fleet.js';
import type { TerminationMode } from '../domain/invocation.js';
import type { AppliedResourceUsage } from '../domain/resource-usage.js';
import type {
  AgentHealthReport,
  AgentMessage,
  ResourceUsageReport,
  TaskEvent,
  TaskSpec,
} from '../protocol/messages.js';
import type { Store } from '../store/store.js';
import type { ChannelAdmission, InstanceService } from './instances.js';
import type { InvocationService } from './invocations.js';
import { dispatchStartMs } from './run-observer.js';

export type HelloMessage = Extract<AgentMessage, { type: 'hello' }>;

// 1 TiB and a billion events: far past any real journal, and millions of agents sum below 2^63.
const maxReportedJournalBytes = 2 ** 40;
const maxReportedPendingEvents = 1_000_000_000;

/** A task waiting for its agent, and when its dispatch began (undefined: not measured, see `dispatchStartMs`). */
export interface QueuedTask {
  readonly task: TaskSpec;
  readonly storedAtMs: number | undefined;
}

/** What a hello changed: the instance as now recorded, and what the agent must drop. */
export interface Greeting {
  readonly instance: ManagedInstance;
  /** A new boot: its reboot tasks were armed. */
  readonly rebooted: boolean;
  /** Schedules the agent holds that the server has ended (or never knew), each once. */
  readonly dropped: readonly string[];
}

/**
 * What an agent's channel asks of the services: admission, its hello, heartbeats and shutdown,
 * the tasks and cancellations waiting for it, and its events. The hub calls these and never reads
 * the store itself; each is the same store round trips the channel always cost.
 */
export class AgentSessions {
  constructor(
    private readonly store: Store,
    private readonly instances: InstanceService,
    private readonly invocations: InvocationService,
    private readonly nowMs: () => number,
    /** The server node holding the channels: other nodes reach its agents through it. */
    private readonly nodeId: string,
  ) {}

  admitChannel(instanceId: string, token: string, address: string): Promise<ChannelAdmission> {
    return this.instances.admitChannel(instanceId, token, address);
  }

  /**
   * Records a hello (fields clipped to what the store keeps), then reconciles what the agent holds
   * with the server's lists (`InvocationService.greeted`).
   */
  async greet(instance: ManagedInstance, hello: HelloMessage): Promise<Greeting> {
    const { rebooted } = await this.store.instances.hello(instance.id, {
      bootId: hello.bootId.slice(0, 64),
      hostname: hello.hostname.slice(0, 255),
      osVersion: hello.osVersion.slice(0, 255),
      agentVersion: hello.agentVersion.slice(0, 64),
      timeZone: hello.timeZone.slice(0, 64),
      shells: hello.shells.slice(0, 10).map((shell) => shell.slice(0, 32)),
      atMs: this.nowMs(),
      nodeId: this.nodeId,
    });
    const recorded = (await this.store.instances.find(instance.id)) ?? instance;
    const dropped = await this.invocations.greeted(instance.id, rebooted, {
      schedules: hello.schedules,
      runs: hello.runs,
    });
    return { instance: recorded, rebooted, dropped };
  }

  /**
   * A heartbeat, with the agent's health when it reported one (in the heartbeat's own write).
   * The figures are the agent's word: clipped, so a hostile one cannot overflow the fleet's sums.
   */
  heartbeat(instanceId: string, health?: AgentHealthReport): Promise<void> {
    return this.store.instances.heartbeat(
      instanceId,
      this.nowMs(),
      health && {
        journalBytes: Math.min(health.journalBytes, maxReportedJournalBytes),
        pendingEvents: Math.min(health.pendingEvents, maxReportedPendingEvents),
      },
    );
  }

  /** The operating system is shutting down: the instance is Stopped until its next hello. */
  shutdown(instanceId: string): Promise<void> {
    return this.store.instances.stopped(instanceId);
  }

  /** Keeps what the agent applied of its resource caps (texts clipped to what is kept). */
  resourceUsageReported(instanceId: string, report: ResourceUsageReport): Promise<void> {
    const applied: AppliedResourceUsage = {
      state: report.state,
      ...(report.mechanism && { mechanism: report.mechanism }),
      ...(report.cgroup !== undefined && { cgroup: report.cgroup.slice(0, 255) }),
      ...(report.cpuPercent !== undefined && { cpuPercent: report.cpuPercent }),
      ...(report.memoryBytes !== undefined && { memoryBytes: report.memoryBytes }),
      ...(report.reason !== undefined && { reason: report.reason.slice(0, 255) }),
      reportedAtMs: this.nowMs(),
    };
    return this.store.instances.reportResourceUsage(
      instanceId,
      JSON.stringify(applied),
      report.state === 'applied',
    );
  }

  /** The agent's channel on this node closed. */
  disconnected(instanceId: string): Promise<void> {
    return this.store.instances.disconnected(instanceId, this.nodeId);
  }

  /** Which of these instances have tasks or cancellations waiting (one query). */
  withWork(instanceIds: readonly string[]): Promise<string[]> {
    return this.store.invocations.withWork(instanceIds);
  }

  /**
   * The tasks waiting for an instance, oldest first, each rendered when the caller gets to it and
   * only when `claim` takes it (a task already on its way is not rendered again).
   */
  async *undeliveredTasks(
    instance: ManagedInstance,
    claim: (invokeId: string, execution: number) => boolean,
  ): AsyncGenerator<QueuedTask> {
    for (const { invocation, run } of await this.store.invocations.undelivered(instance.id)) {
      if (!claim(invocation.id, run.execution)) continue;
      yield {
        task: await this.invocations.taskFor(invocation, run.execution, instance),
        storedAtMs: dispatchStartMs(invocation.repeatMode, run),
      };
    }
  }

  /** The invocations being stopped on an instance, with how: their cancellations must reach the agent. */
  async stopping(instanceId: string): Promise<Map<string, TerminationMode>> {
    return new Map(
      (await this.store.invocations.stopping(instanceId)).map(({ invocation }) => [
        invocation.id,
        invocation.terminationMode,
      ]),
    );
  }

  /** Applies a burst of one run's events (`InvocationService.applyEvents`). */
  applyEvents(
    instanceId: string,
    invokeId: string,
    execution: number,
    events: readonly TaskEvent[],
  ): Promise<boolean[]> {
    return this.invocations.applyEvents(instanceId, invokeId, execution, events);
  }
}
