import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { RunObserver } from '../service/run-observer.js';
import type { EndedRun, FleetGauges, PoolGauges, QueryOperation } from '../store/store.js';
import { FixedLabelHistogram } from './fixed-label-histogram.js';
import { boundedLabel, fleetCache, repeatModeLabels, runStatusLabels, topVersions } from './labels.js';

/**
 * What the gauges read at scrape time (never on a request's path): this node's channels, and the
 * store's figures. `fleet` is one bounded query, cached a few seconds (`fleetCache`).
 */
export interface MetricsSources {
  readonly dialect: 'sqlite' | 'postgres';
  connectedAgents(): number;
  fleet(nowMs: number): Promise<FleetGauges>;
  pool(): PoolGauges | undefined;
  walBytes(): number | undefined;
  /** The audit trail's records not stored yet (`AuditTrail.backlog`); absent: the trail is off. */
  auditBacklog?(): number;
  /** Told when the fleet's figures could not be read (that scrape shows none of them). */
  failed?(error: unknown): void;
}

const prefix = 'openassist_';
// Buckets (seconds): a request from half a millisecond to 10 s (the catalogue's range).
const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
// A run lasts from a fraction of a second to the longest Timeout people set (a day).
const runBuckets = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21_600, 86_400];
// Stored → delivered/started: milliseconds when the agent is online, up to the delivery timeout's minutes.
const dispatchBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
// One statement: from a tenth of a millisecond (SQLite's cached statements) to a slow second.
const queryBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/**
 * The server's metrics (docs/metrics.md), on a registry of its own so that two servers in one
 * process do not share counters. The request path only increments counters and observes
 * histograms; everything read from the store is read by `collect()` when /metrics is scraped.
 * Every label takes values from a fixed set: never an instance, invocation or key id.
 */
export class ServerMetrics implements RunObserver {
  readonly registry = new Registry();
  private sources: MetricsSources | undefined;
  private readonly fleet: (nowMs: number) => Promise<FleetGauges | undefined>;

  private readonly apiRequests = new Counter({
    name: `${prefix}api_requests_total`,
    help: 'API requests answered, by action (a served action name, else "unknown") and code ("Success" or the error code).',
    labelNames: ['action', 'code'] as const,
    registers: [this.registry],
  });
  private readonly apiDuration = new Histogram({
    name: `${prefix}api_request_duration_seconds`,
    help: 'Time to answer an API request, by action.',
    labelNames: ['action'] as const,
    buckets: requestBuckets,
    registers: [this.registry],
  });
  private readonly invocationsCreated = new Counter({
    name: `${prefix}invocations_created_total`,
    help: 'Invocations created (InvokeCommand, RunCommand; SendFile as repeat_mode="File").',
    labelNames: ['repeat_mode'] as const,
    registers: [this.registry],
  });
  private readonly runsEnded = new Counter({
    name: `${prefix}runs_ended_total`,
    help: 'Result rows that reached a final status, by that status.',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });
  private readonly runDuration = new Histogram({
    name: `${prefix}run_duration_seconds`,
    help: 'Runs from started to ended as the agent reported them, by final status.',
    labelNames: ['status'] as const,
    buckets: runBuckets,
    registers: [this.registry],
  });
  private readonly dispatchLatency = new Histogram({
    name: `${prefix}dispatch_latency_seconds`,
    help: 'From a run stored to its task sent to the agent (stage="delivered") and to the agent reporting it started (stage="started").',
    labelNames: ['stage'] as const,
    buckets: dispatchBuckets,
    registers: [this.registry],
  });
  private readonly deliveryTimeouts = new Counter({
    name: `${prefix}delivery_timeouts_total`,
    help: 'Runs aborted (ClientNotResponse) because no agent took them within the delivery timeout.',
    registers: [this.registry],
  });
  // Observed for every statement: prom-client's own histogram costs ~0.7 µs an observation.
  private readonly storeQueries = new FixedLabelHistogram<QueryOperation>({
    name: `${prefix}store_query_duration_seconds`,
    help: 'Statements sent to the data store, by operation (read, write, transaction).',
    labelName: 'operation',
    labelValues: ['read', 'write', 'transaction'],
    buckets: queryBuckets,
    registry: this.registry,
  });
  private readonly auditRecords = new Counter({
    name: `${prefix}audit_records_total`,
    help: 'Audit trail records, by outcome (stored, failed).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly readerCalls = new Counter({
    name: `${prefix}reader_calls_total`,
    help: 'Read-only calls handed to the SQLite reader threads, by who answered (reader, full, handed_back).',
    labelNames: ['answered'] as const,
    registers: [this.registry],
  });

  constructor(
    /** The action names the API serves: any other name counts as "unknown". */
    private readonly servedActions: ReadonlySet<string>,
    private readonly nowMs: () => number = Date.now,
  ) {
    collectDefaultMetrics({ register: this.registry });
    this.fleet = fleetCache(
      (nowMs) => this.sources?.fleet(nowMs),
      undefined,
      (error) => this.sources?.failed?.(error),
    );
    this.registerGauges();
  }

  /** Where the gauges read from, once the hub and the store exist; the store's own gauges follow its dialect. */
  watch(sources: MetricsSources): void {
    if (this.sources) throw new Error('the metrics already watch a server');
    this.sources = sources;
    if (sources.dialect === 'postgres') this.registerPoolGauge();
    else this.registerWalGauge();
    const { auditBacklog } = sources;
    if (auditBacklog) {
      new Gauge({
        name: `${prefix}audit_backlog_records`,
        help: "Audit records this node has not stored yet, each holding its call's answer: being written, queued, or waiting for room in the full queue.",
        registers: [this.registry],
        collect() {
          this.set(auditBacklog());
        },
      });
    }
  }

  /** The exposition text of every metric and its content type (Prometheus text format 0.0.4). */
  async scrape(): Promise<{ type: string; text: string }> {
    return { type: this.registry.contentType, text: await this.registry.metrics() };
  }

  /** One API request answered: `code` empty on success. */
  apiRequest(action: string, code: string, seconds: number): void {
    const known = this.servedActions.has(action) ? action : 'unknown';
    this.apiRequests.inc({ action: known, code: code === '' ? 'Success' : code });
    this.apiDuration.observe({ action: known }, seconds);
  }

  invocationCreated(repeatMode: string): void {
    this.invocationsCreated.inc({ repeat_mode: boundedLabel(repeatMode, repeatModeLabels) });
  }

  runEnded(run: EndedRun): void {
    const status = boundedLabel(run.status, runStatusLabels);
    this.runsEnded.inc({ status });
    if (run.startTimeMs > 0 && run.finishTimeMs >= run.startTimeMs) {
      this.runDuration.observe({ status }, (run.finishTimeMs - run.startTimeMs) / 1000);
    }
  }

  taskSent(waitedMs: number): void {
    this.dispatchLatency.observe({ stage: 'delivered' }, Math.max(0, waitedMs) / 1000);
  }

  runStarted(waitedMs: number): void {
    this.dispatchLatency.observe({ stage: 'started' }, Math.max(0, waitedMs) / 1000);
  }

  deliveryTimedOut(count: number): void {
    if (count > 0) this.deliveryTimeouts.inc(count);
  }

  storeQuery(operation: QueryOperation, seconds: number): void {
    this.storeQueries.observe(operation, seconds);
  }

  /** For the audit trail: a batch of records written (or not). */
  auditRecorded(outcome: 'stored' | 'failed', records: number): void {
    this.auditRecords.inc({ outcome }, records);
  }

  /** For the reader threads: who answered a call handed to them (docs/reader-threads.md). */
  readerCall(answered: 'reader' | 'full' | 'handed_back'): void {
    this.readerCalls.inc({ answered });
  }

  /** Gauges computed when scraped: nothing of them costs anything between scrapes. */
  private registerGauges(): void {
    const metrics = this;
    const registers = [this.registry];
    const fromFleet = (
      name: string,
      help: string,
      read: (fleet: FleetGauges, gauge: Gauge<string>) => void,
      labelNames: readonly string[] = [],
    ) =>
      new Gauge({
        name: `${prefix}${name}`,
        help,
        labelNames,
        registers,
        async collect() {
          const fleet = await metrics.fleet(metrics.nowMs());
          if (fleet) read(fleet, this);
        },
      });
    new Gauge({
      name: `${prefix}agents_connected`,
      help: 'Agent channels held by this server node.',
      registers,
      collect() {
        this.set(metrics.sources?.connectedAgents() ?? 0);
      },
    });
    fromFleet(
      'agents_online',
      'Instances whose agent is online (CloudAssistantStatus=true), cluster-wide.',
      (f, g) => g.set(f.online),
    );
    fromFleet(
      'agents_by_version',
      'Online agents per version (the 20 most common; the rest as "other").',
      (f, g) => {
        g.reset();
        for (const { version, count } of topVersions(f.versions)) g.set({ version }, count);
      },
      ['version'],
    );
    fromFleet(
      'tasks_pending',
      'Runs stored and not yet delivered to their agent (held rolling runs left out).',
      (f, g) => g.set(f.pendingTasks),
    );
    fromFleet('webhook_backlog', 'Webhook deliveries waiting in the outbox.', (f, g) =>
      g.set(f.webhookBacklog),
    );
    fromFleet('output_upload_backlog', 'Run outputs waiting to be uploaded to object storage.', (f, g) =>
      g.set(f.outputUploadBacklog),
    );
    fromFleet(
      'agent_journal_bytes',
      "Online agents' reported journal sizes: their sum and the largest.",
      (f, g) => {
        g.set({ stat: 'sum' }, f.journalBytesSum);
        g.set({ stat: 'max' }, f.journalBytesMax);
      },
      ['stat'],
    );
    fromFleet(
      'agent_pending_events',
      "Online agents' events not yet acknowledged by the server: their sum and the most one agent holds.",
      (f, g) => {
        g.set({ stat: 'sum' }, f.pendingEventsSum);
        g.set({ stat: 'max' }, f.pendingEventsMax);
      },
      ['stat'],
    );
    fromFleet(
      'agent_heartbeat_age_seconds',
      'Seconds since the least recent heartbeat of an online agent.',
      (f, g) => {
        const age = f.oldestHeartbeatAtMs > 0 ? (metrics.nowMs() - f.oldestHeartbeatAtMs) / 1000 : 0;
        g.set({ stat: 'max' }, Math.max(0, age));
      },
      ['stat'],
    );
    fromFleet('agents_resource_capped', 'Online agents that report their resource caps applied.', (f, g) =>
      g.set(f.resourceCapped),
    );
  }

  private registerPoolGauge(): void {
    const metrics = this;
    new Gauge({
      name: `${prefix}store_pool_connections`,
      help: "PostgreSQL's connection pool: total, idle, and callers waiting for a connection.",
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const pool = metrics.sources?.pool();
        if (!pool) return;
        this.set({ state: 'total' }, pool.total);
        this.set({ state: 'idle' }, pool.idle);
        this.set({ state: 'waiting' }, pool.waiting);
      },
    });
  }

  private registerWalGauge(): void {
    const metrics = this;
    new Gauge({
      name: `${prefix}sqlite_wal_bytes`,
      help: "The size of SQLite's write-ahead log file (0 for a database in memory).",
      registers: [this.registry],
      collect() {
        this.set(metrics.sources?.walBytes() ?? 0);
      },
    });
  }
}
