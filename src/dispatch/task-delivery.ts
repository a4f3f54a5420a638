import type { AgentSessions } from '../service/agent-sessions.js';
import type { NewTask } from '../service/invocations.js';
import type { RunObserver } from '../service/run-observer.js';
import type { RunTraces, TraceStamp } from '../telemetry/run-traces.js';
import type { AgentConnection } from './agent-connection.js';

const untraced = (send: (stamp: TraceStamp) => Promise<void>): Promise<void> => send((task) => task);

/**
 * Sends agents the tasks and cancellations the services hand over: a new invocation's task at
 * once, and what waits in the store in delivery passes paced by how fast the agent reads.
 */
export class TaskDelivery {
  constructor(
    private readonly sessions: Pick<AgentSessions, 'undeliveredTasks' | 'stopping'>,
    /** How long a delivery waits for an agent to read what it was sent: as long as a silent agent is kept. */
    private readonly drainWaitMs: number,
    private readonly nowMs: () => number,
    /** The metrics, when the server keeps them. */
    private readonly observer?: Pick<RunObserver, 'taskSent'>,
    /** Each task sent in a `dispatch` span of its invocation's trace (docs/tracing.md); undefined: off. */
    private readonly traces?: RunTraces,
  ) {}

  /** A task went out: its dispatch latency, when it is measured. */
  private sent(storedAtMs: number | undefined): void {
    if (storedAtMs !== undefined) this.observer?.taskSent(this.nowMs() - storedAtMs);
  }

  /** Sends one run's task, in its `dispatch` span when traced. */
  private traced(
    connection: AgentConnection,
    invokeId: string,
    execution: number,
    send: (stamp: TraceStamp) => Promise<void>,
  ): Promise<void> {
    if (!this.traces) return untraced(send);
    return this.traces.dispatch({ instanceId: connection.instance.id, invokeId, execution }, send);
  }

  /**
   * Sends an instance's undelivered tasks and, with `stopping`, its pending cancellations; one pass
   * at a time per connection.
   */
  deliver(connection: AgentConnection, stopping: boolean): Promise<void> {
    connection.checkStopping ||= stopping;
    if (connection.delivering) {
      connection.deliverAgain = true;
      return connection.delivering;
    }
    connection.delivering = (async () => {
      do {
        connection.deliverAgain = false;
        const checkStopping = connection.checkStopping;
        connection.checkStopping = false;
        // Each task is rendered only once this connection claims it (not sent yet, channel open).
        const tasks = this.sessions.undeliveredTasks(connection.instance, (invokeId, execution) =>
          connection.claim(invokeId, execution),
        );
        for await (const { task, storedAtMs } of tasks) {
          await this.traced(connection, task.invokeId, task.execution ?? 0, (stamp) =>
            connection.sendPaced({ type: 'task', task: stamp(task) }, this.drainWaitMs),
          );
          this.sent(storedAtMs);
        }
        if (connection.closed) return;
        if (!checkStopping) continue;
        for (const [invokeId, terminationMode] of await this.sessions.stopping(connection.instance.id)) {
          await connection.sendPaced({ type: 'cancel', invokeId, terminationMode }, this.drainWaitMs);
        }
      } while (connection.deliverAgain && !connection.closed);
    })()
      .catch((error: unknown) => connection.log.error({ err: error }, 'delivery failed'))
      .finally(() => {
        connection.delivering = undefined;
      });
    return connection.delivering;
  }

  /** Sends row 0 of a new invocation; one that fails waits for the next delivery pass (the sweep). */
  async push(connection: AgentConnection, created: NewTask): Promise<void> {
    if (!connection.claim(created.invokeId, 0)) return;
    // An agent with much unread gets its tasks from a delivery pass, at the pace it reads.
    if (connection.backedUp) {
      connection.release(created.invokeId, 0);
      void this.deliver(connection, false);
      return;
    }
    try {
      await this.traced(connection, created.invokeId, 0, async (stamp) =>
        connection.send({ type: 'task', task: stamp(await created.render(connection.instance)) }),
      );
      this.sent(created.createdAtMs);
    } catch (error) {
      connection.release(created.invokeId, 0);
      connection.log.error({ err: error }, 'delivery failed');
    }
  }
}
