import type { AuditEvent } from '../domain/audit.js';
import type { Command, CommandPatch } from '../domain/command.js';
import type { FileUpload } from '../domain/file-upload.js';
import type { Activation, AgentHealth, ManagedInstance } from '../domain/fleet.js';
import type { Invocation, InvocationInstance, RepeatMode } from '../domain/invocation.js';
import type { RunPatch, RunProgress } from '../domain/invocation-state.js';
import type { OssOutputStatus } from '../domain/output-delivery.js';
import type { Page, PageRequest } from '../domain/paging.js';
import type { Tag, TagFilter } from '../domain/tags.js';
import type {
  RecordingDirection,
  SessionEnd,
  SessionLimits,
  TerminalSession,
} from '../domain/terminal-session.js';
import type { TextPattern } from '../domain/text-pattern.js';

/**
 * The storage port. The core talks to this and nothing else; SQLite and PostgreSQL implement it
 * (one Kysely implementation over two dialects) and pass the same contract suite.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly accessKeys: AccessKeyRepo;
  readonly nonces: NonceRepo;
  readonly commands: CommandRepo;
  readonly activations: ActivationRepo;
  readonly instances: InstanceRepo;
  readonly invocations: InvocationRepo;
  readonly clientTokens: ClientTokenRepo;
  readonly tags: TagRepo;
  readonly resourceGroups: ResourceGroupRepo;
  readonly parameters: ParameterRepo;
  readonly cluster: ClusterRepo;
  readonly settings: SettingRepo;
  readonly fileUploads: FileUploadRepo;
  readonly terminalSessions: TerminalSessionRepo;
  readonly outputDeliveries: OutputDeliveryRepo;
  readonly webhooks: WebhookRepo;
  /** The audit trail (docs/audit.md): appended and read, never changed; old records swept. */
  readonly auditEvents: AuditEventRepo;
  /** Messages between the server nodes on one database (PostgreSQL LISTEN/NOTIFY; none on SQLite). */
  readonly notifications: Notifications;
  /** Figures for the metrics, read when they are scraped. */
  readonly telemetry: StoreTelemetry;
  /** Cheap round trip for /health. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type AccessKeyStatus = 'Active' | 'Inactive';

export interface AccessKey {
  readonly id: string;
  readonly secret: string;
  readonly status: AccessKeyStatus;
  readonly description: string;
  readonly createdAtMs: number;
  /** A RAM policy document limiting the actions it may call; none: every action of its kind. */
  readonly policy?: string;
  /** The one resource group it sees and touches; none: all of them. */
  readonly resourceGroupId?: string;
}

export interface AccessKeyRepo {
  get(id: string): Promise<AccessKey | undefined>;
  insert(key: AccessKey): Promise<void>;
  setStatus(id: string, status: AccessKeyStatus): Promise<boolean>;
  count(): Promise<number>;
  /** Every key, oldest first (secrets included: callers render only what they may show). */
  list(): Promise<AccessKey[]>;
  /** Deletes a key; false when there was none. */
  delete(id: string): Promise<boolean>;
}

export interface NonceRepo {
  /** Records a nonce; false when the key already used it (a replay). Atomic: a unique key, never check-then-insert. */
  claim(accessKeyId: string, nonce: string, expiresAtMs: number): Promise<boolean>;
  /** Forgets nonces whose window has passed; returns how many. */
  purgeExpired(nowMs: number): Promise<number>;
}

export interface CommandFilter {
  readonly regionId: string;
  readonly commandId?: string | undefined;
  readonly name?: TextPattern | undefined;
  readonly description?: TextPattern | undefined;
  readonly type?: string | undefined;
  readonly resourceGroupId?: string | undefined;
  /** Every tag must match. */
  readonly tags: readonly TagFilter[];
}

/** How much of a resource a read returns. */
export interface ReadOptions {
  /** Read the resource's tags (the default). */
  readonly tags?: boolean;
}

export interface CommandRepo {
  insert(command: Omit<Command, 'seq'>): Promise<Command>;
  /** `tags: false` leaves the tags empty, a query fewer for a caller that does not read them. */
  get(regionId: string, id: string, options?: ReadOptions): Promise<Command | undefined>;
  list(filter: CommandFilter, page: PageRequest): Promise<Page<Command>>;
  /** Applies a patch; bumps the version when the script changes. False when there is no such command. */
  update(regionId: string, id: string, patch: CommandPatch): Promise<boolean>;
  delete(regionId: string, id: string): Promise<boolean>;
}

export interface ActivationFilter {
  readonly regionId: string;
  readonly activationId?: string | undefined;
  readonly instanceName?: string | undefined;
  readonly resourceGroupId?: string | undefined;
  readonly tags: readonly TagFilter[];
}

export interface ActivationRepo {
  insert(activation: Omit<Activation, 'seq'>): Promise<Activation>;
  get(regionId: string, id: string): Promise<Activation | undefined>;
  /** By id alone: registering agents do not know the region. */
  find(id: string): Promise<Activation | undefined>;
  list(filter: ActivationFilter, page: PageRequest): Promise<Page<Activation>>;
  disable(regionId: string, id: string): Promise<boolean>;
  /** Deletes the activation unless instances registered with it still exist. */
  delete(regionId: string, id: string): Promise<'deleted' | 'missing' | 'in-use'>;
}

export interface InstanceFilter {
  readonly regionId: string;
  readonly instanceIds?: readonly string[] | undefined;
  readonly activationId?: string | undefined;
  readonly name?: TextPattern | undefined;
  /** Lowercase, as stored. */
  readonly osType?: string | undefined;
  /** The address the agent registered from. */
  readonly instanceIp?: string | undefined;
  readonly machineId?: string | undefined;
  readonly connected?: boolean | undefined;
  readonly status?: string | undefined;
  readonly resourceGroupId?: string | undefined;
  readonly tags: readonly TagFilter[];
}

/** What an agent reports in its hello. */
export interface AgentHello {
  readonly bootId: string;
  readonly hostname: string;
  readonly osVersion: string;
  readonly agentVersion: string;
  readonly timeZone: string;
  readonly shells: readonly string[];
  readonly atMs: number;
  /** The server node that holds the agent's channel. */
  readonly nodeId: string;
}

export interface InstanceRepo {
  /**
   * Registers an instance against an activation in one transaction: the activation's count is
   * claimed with a conditional update, so concurrent registrations never exceed InstanceCount.
   * Returns undefined when the activation has no registration left.
   */
  register(
    activationId: string,
    build: (activation: Activation, ordinal: number) => Omit<ManagedInstance, 'seq'>,
  ): Promise<ManagedInstance | undefined>;
  get(regionId: string, id: string): Promise<ManagedInstance | undefined>;
  find(id: string): Promise<ManagedInstance | undefined>;
  /** `tags: false` leaves the tags empty, a query fewer for a caller that does not read them. */
  getMany(regionId: string, ids: readonly string[], options?: ReadOptions): Promise<ManagedInstance[]>;
  list(filter: InstanceFilter, page: PageRequest): Promise<Page<ManagedInstance>>;
  rename(regionId: string, id: string, name: string): Promise<boolean>;
  /** Removes the instance and counts it as deregistered on its activation. */
  deregister(regionId: string, id: string): Promise<ManagedInstance | undefined>;
  /** Records a hello; `rebooted` when it reports a boot id other than the last one known. */
  hello(id: string, hello: AgentHello): Promise<{ rebooted: boolean }>;
  /** A heartbeat, with the agent's health when it sent one (same statement: no extra write). */
  heartbeat(id: string, atMs: number, health?: Omit<AgentHealth, 'reportedAtMs'>): Promise<void>;
  /** The channel on `nodeId` closed (ignored when the agent has moved to another node since). */
  disconnected(id: string, nodeId: string): Promise<void>;
  /** The operating system is shutting down: Stopped until the next hello. */
  stopped(id: string): Promise<void>;
  /** Keeps an agent's report of its resource caps (replacing the previous one). */
  reportResourceUsage(id: string, report: string, capped: boolean): Promise<void>;
  /** The last resource-caps reports of these instances ('' for one that never reported; absent: no such instance). */
  resourceUsageReports(ids: readonly string[]): Promise<Map<string, string>>;
}

/** What a run-end listener is told of the row. */
export type EndedRun = Pick<InvocationInstance, 'status' | 'startTimeMs' | 'finishTimeMs'>;

/** What the store's statements do, for its latency histogram. */
export type QueryOperation = 'read' | 'write' | 'transaction';

/** Hears of each statement the store runs (`openStore`'s `onQuery`). */
export type QueryListener = (operation: QueryOperation, seconds: number) => void;

/** Fleet-wide figures for the metrics, read in one pass at scrape time (docs/metrics.md). */
export interface FleetGauges {
  /** Online agents: channel open and heard within `onlineSinceMs`. */
  readonly online: number;
  /** Online agents per reported version (one entry per distinct version). */
  readonly versions: readonly { readonly version: string; readonly count: number }[];
  /** Runs stored, not delivered, not held (capped at `countCap`). */
  readonly pendingTasks: number;
  readonly webhookBacklog: number;
  readonly outputUploadBacklog: number;
  readonly journalBytesSum: number;
  readonly journalBytesMax: number;
  readonly pendingEventsSum: number;
  readonly pendingEventsMax: number;
  /** The least recent heartbeat of an online agent; 0 when none is online. */
  readonly oldestHeartbeatAtMs: number;
  /** Online agents that report their resource caps applied. */
  readonly resourceCapped: number;
}

/** PostgreSQL's pool as pg counts it. */
export interface PoolGauges {
  readonly total: number;
  readonly idle: number;
  readonly waiting: number;
}

/** What the store tells the metrics about itself, read at scrape time. */
export interface StoreTelemetry {
  /** One pass over the fleet's tables; every count bounded by `countCap`. */
  fleet(onlineSinceMs: number): Promise<FleetGauges>;
  /** The connection pool (PostgreSQL); undefined on SQLite. */
  pool(): PoolGauges | undefined;
  /** The write-ahead log's size (SQLite, 0 in memory); undefined on PostgreSQL. */
  walBytes(): number | undefined;
}

export interface InvocationFilter {
  readonly regionId: string;
  /** Commands' invocations (the default) or SendFile's: a listing never mixes them. */
  readonly kind?: 'command' | 'file' | undefined;
  readonly invokeId?: string | undefined;
  readonly commandId?: string | undefined;
  readonly commandName?: string | undefined;
  readonly commandType?: string | undefined;
  readonly instanceId?: string | undefined;
  readonly repeatMode?: string | undefined;
  readonly statuses?: readonly string[] | undefined;
  readonly resourceGroupId?: string | undefined;
  /** `domain/invocation-filters.ts: isTimedInvocation` is true (or false). */
  readonly timed?: boolean | undefined;
  readonly tags: readonly TagFilter[];
}

/** A per-instance result with its invocation, as DescribeInvocationResults lists them. */
export interface InvocationResult {
  readonly invocation: Invocation;
  readonly run: InvocationInstance;
}

/** One result row: a run of one invocation on one instance (execution 0: the invocation there). */
export interface RunKey {
  readonly invokeId: string;
  readonly instanceId: string;
  readonly execution: number;
}

/** How an invocation starts on one instance. */
export interface InitialRun {
  readonly instanceId: string;
  /** Pending (to deliver), Scheduled (waits for a boot) or Invalid (cannot run there). */
  readonly status: 'Pending' | 'Scheduled' | 'Invalid';
  readonly errorCode: string;
  readonly errorInfo: string;
  /** A rolling run's instance: true held back until released, false released at once; absent: not rolling. */
  readonly held?: boolean;
}

export interface RunUpdateOptions {
  /** Creates run n (n ≥ 1) of a Period task when the agent reports it first. */
  readonly create?: boolean;
  /** How row 0 of a schedule follows a change of one of its runs (same transaction). */
  readonly follow?: (
    standing: InvocationInstance,
    execution: RunProgress,
    mode: RepeatMode,
  ) => RunPatch | undefined;
}

/** The writes of a burst of one run's events: all `inOneTransaction` hands its work. */
export type RunWrites = Pick<InvocationRepo, 'updateRun' | 'appendOutput'>;

export interface InvocationRepo {
  /**
   * Creates the invocation and row 0 per instance, and counts the invocation on the command and
   * instances; with `quota`, only while the region's count for that UTC day stays within the
   * limit (one conditional upsert, in the same transaction). Undefined when it would not.
   */
  create(
    invocation: Omit<Invocation, 'seq'>,
    runs: readonly InitialRun[],
    quota?: { utcDay: string; limit: number },
  ): Promise<Invocation | undefined>;
  /** An invocation of either kind (`file` tells them apart). */
  get(regionId: string, id: string): Promise<Invocation | undefined>;
  /** Row 0 of each instance of the invocation. */
  runs(invokeId: string): Promise<InvocationInstance[]>;
  /** The newest run of each schedule or reboot task among `invokeIds`, by `invokeId/instanceId`. */
  latestExecutions(invokeIds: readonly string[]): Promise<Map<string, InvocationInstance>>;
  /** Runs of one invocation on one instance that have not ended, row 0 included. */
  liveRuns(invokeId: string, instanceId: string): Promise<InvocationInstance[]>;
  list(filter: InvocationFilter, page: PageRequest): Promise<Page<Invocation>>;
  /** Row 0 per instance; with `includeHistory`, every run instead (each execution of a schedule). */
  listResults(
    filter: InvocationFilter & { runStatuses?: readonly string[]; includeHistory?: boolean },
    page: PageRequest,
  ): Promise<Page<InvocationResult>>;
  /** Rows of an instance that are Pending and not yet delivered, with their invocations (tags left out), oldest first. */
  undelivered(instanceId: string): Promise<InvocationResult[]>;
  /** Which of these instances have something to deliver: undelivered Pending rows or Stopping ones. */
  withWork(instanceIds: readonly string[]): Promise<string[]>;
  /** Rows of an instance that are Stopping: their cancellation must reach the agent. */
  stopping(instanceId: string): Promise<InvocationResult[]>;
  /**
   * Changes one row with `change`, which sees the current row and the invocation's RepeatMode and
   * returns a patch (or nothing), inside one transaction that also moves row 0 of a schedule along
   * (`follow`) and refreshes the invocation's aggregate status.
   */
  updateRun(
    key: RunKey,
    change: (run: InvocationInstance, mode: RepeatMode) => RunPatch | undefined,
    atMs: number,
    options?: RunUpdateOptions,
  ): Promise<InvocationInstance | undefined>;
  /**
   * Runs several writes in one transaction (`repo` writes inside it): a burst of one run's events
   * costs one commit. Keep it to one invocation, so PostgreSQL row locks are taken in one order.
   */
  inOneTransaction<T>(work: (repo: RunWrites) => Promise<T>): Promise<T>;
  /** Hears of a rolling run's held instances released (after the commit): delivery wakes them. */
  onReleased(listener: (instanceIds: readonly string[]) => void): void;
  /**
   * Hears of every result row that reaches a final status, on any path (agent reports, stops,
   * timeouts, rolling cancellations, rows created final), inside the write that ends it: the
   * metrics count them. Listeners must be quick and must not throw.
   */
  onRunEnded(listener: (run: EndedRun) => void): void;
  /**
   * StopInvocation's part for a rolling run: its held runs (those of `instanceIds`, or all) end
   * Cancelled and are never released. Returns how many.
   */
  cancelHeld(invokeId: string, instanceIds: readonly string[] | undefined, atMs: number): Promise<number>;
  /**
   * Runs of a region changed at or after `sinceMs` (by their update time, then seq), oldest first,
   * with their invocation's group: what a fleet-wide event stream polls.
   */
  changedSince(
    regionId: string,
    sinceMs: number,
    limit: number,
    resourceGroupId?: string,
  ): Promise<RunChange[]>;
  /**
   * Appends the chunk the agent numbered `offset` (domain/output-placement): a repeat is ignored, a gap
   * before it and bytes past `maxBytes` are counted as dropped. Returns bytes stored.
   */
  appendOutput(key: RunKey, offset: number, data: Buffer, maxBytes: number): Promise<number>;
  /** The last `maxBytes` of a run's output. */
  outputTail(key: RunKey, maxBytes: number): Promise<Buffer>;
  /**
   * The last `maxBytes` of each run's output as it stood at `outputBytes` (what the run's row
   * said), in the order given, read in one query: a page of results needs them all.
   */
  outputTails(
    runs: readonly (RunKey & { readonly outputBytes: number })[],
    maxBytes: number,
  ): Promise<Buffer[]>;
  /** One row (row 0 or a run), or undefined. */
  run(key: RunKey): Promise<InvocationInstance | undefined>;
  /** Every row of an invocation (row 0 and each run), optionally of one instance; by instance, then execution. */
  executions(invokeId: string, instanceId?: string): Promise<InvocationInstance[]>;
  /** Up to `maxBytes` of a run's stored output from byte `offset` on; empty at or past its end. */
  outputRange(key: RunKey, offset: number, maxBytes: number): Promise<Buffer>;
  /** Pending, undelivered rows waiting since before `beforeMs`: candidates for Aborted. */
  overdue(beforeMs: number): Promise<RunKey[]>;
  /**
   * Runs of an instance that reached its agent and have not ended (Pending delivered, Running,
   * Stopping): the ones its agent must still hold. Row 0 of a Period or EveryReboot task (which
   * stands for the schedule, not a run) is left out.
   */
  deliveredRuns(instanceId: string): Promise<RunKey[]>;
  /**
   * Started runs still Running or Stopping `graceMs` after their invocation's timeout ran out at
   * `nowMs` (schedule rows left out, as in `deliveredRuns`); at most 1000.
   */
  pastDeadline(nowMs: number, graceMs: number): Promise<RunKey[]>;
  /**
   * Deletes up to `limit` invocations created before `beforeMs` that have ended (every row final),
   * with their results, output and tags. Returns how many.
   */
  purgeEndedBefore(beforeMs: number, limit: number): Promise<number>;
  /** Tasks running on an instance (ActiveTaskCount). */
  activeCount(instanceId: string): Promise<number>;
  /**
   * The instance booted anew: its NextRebootOnly tasks become Pending (delivered once), and each
   * EveryReboot task gets a new Pending run. Returns how many runs were armed.
   */
  armForBoot(instanceId: string, atMs: number): Promise<number>;
  /** The instance's Period tasks that have not ended, and whether each reached the agent. */
  activeSchedules(instanceId: string): Promise<{ invokeId: string; delivered: boolean }[]>;
  /** Delivers these Period tasks again (the agent no longer holds them). */
  redeliver(instanceId: string, invokeIds: readonly string[], atMs: number): Promise<void>;
}

/** Who sent a ClientToken, for which action: tokens are scoped per access key owner and action. */
export interface TokenScope {
  readonly owner: string;
  readonly action: string;
  readonly token: string;
}

export type TokenClaim =
  | { readonly outcome: 'claimed' }
  | {
      readonly outcome: 'seen';
      readonly requestHash: string;
      readonly state: 'processing' | 'done';
      readonly response: string;
    };

export interface ClientTokenRepo {
  /** Claims a token with a unique key (never check-then-insert); a second claim sees the first. */
  claim(scope: TokenScope, requestHash: string, nowMs: number): Promise<TokenClaim>;
  /** Stores the response of the request that claimed the token. */
  complete(scope: TokenScope, response: string): Promise<void>;
  /** Forgets a token whose request failed, so it may be retried. */
  release(scope: TokenScope): Promise<void>;
  purgeOlderThan(beforeMs: number): Promise<number>;
}

export type TaggedType = 'command' | 'invocation' | 'instance' | 'activation';

export interface TaggedResource {
  readonly resourceType: TaggedType;
  readonly resourceId: string;
  readonly key: string;
  readonly value: string;
}

export interface TagRepo {
  /** Which of `ids` exist as resources of `type` in the region. */
  existing(regionId: string, type: TaggedType, ids: readonly string[]): Promise<Set<string>>;
  /**
   * Adds or overwrites tags on every resource in one transaction; refuses (returns the offending
   * id) when a resource would end up with more than `maxPerResource` tags.
   */
  tag(
    type: TaggedType,
    ids: readonly string[],
    tags: readonly Tag[],
    maxPerResource: number,
  ): Promise<string | undefined>;
  /** Removes the given keys, or every tag when `keys` is 'all'. */
  untag(type: TaggedType, ids: readonly string[], keys: readonly string[] | 'all'): Promise<void>;
  /**
   * Tag rows of `type` in the region, by resource id and key, optionally limited to ids, to
   * resources having every filter tag, and to the resources of one resource group.
   */
  list(
    regionId: string,
    type: TaggedType,
    ids: readonly string[] | undefined,
    filters: readonly TagFilter[],
    resourceGroupId: string | undefined,
    offset: number,
    limit: number,
  ): Promise<TaggedResource[]>;
  /** Ids of the region's instances that carry every one of `tags`. */
  instancesWithTags(regionId: string, tags: readonly Tag[], limit: number): Promise<string[]>;
}

export interface ResourceGroup {
  readonly seq: number;
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly createdAtMs: number;
}

export interface ResourceGroupFilter {
  readonly ids?: readonly string[] | undefined;
  /** Substring matches, as ListResourceGroups' fuzzy Name and DisplayName. */
  readonly name?: string | undefined;
  readonly displayName?: string | undefined;
}

export interface ResourceGroupRepo {
  /** Undefined when the name is taken (a unique key decides, never check-then-insert). */
  create(group: Omit<ResourceGroup, 'seq'>): Promise<ResourceGroup | undefined>;
  get(id: string): Promise<ResourceGroup | undefined>;
  count(): Promise<number>;
  list(filter: ResourceGroupFilter, page: PageRequest): Promise<Page<ResourceGroup>>;
  /** Deletes the group unless a command, invocation, instance or activation is in it. */
  delete(id: string): Promise<'deleted' | 'missing' | 'in-use'>;
  /** Moves a resource into a group; false when the resource does not exist in the region. */
  join(regionId: string, type: TaggedType, resourceId: string, groupId: string): Promise<boolean>;
}

/** A Parameter Store entry. Plain and secret parameters are separate namespaces; a secret's value is ciphertext. */
export interface StoredParameter {
  readonly seq: number;
  readonly id: string;
  readonly regionId: string;
  readonly kind: 'plain' | 'secret';
  readonly name: string;
  readonly type: string;
  readonly value: string;
  readonly description: string;
  readonly version: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export interface ParameterRepo {
  /** Undefined when the name is taken (a unique key decides). */
  create(parameter: Omit<StoredParameter, 'seq'>): Promise<StoredParameter | undefined>;
  get(regionId: string, kind: StoredParameter['kind'], name: string): Promise<StoredParameter | undefined>;
  getMany(
    regionId: string,
    kind: StoredParameter['kind'],
    names: readonly string[],
  ): Promise<StoredParameter[]>;
  /** A new value (and description) as the next version; false when there is no such parameter. */
  update(
    regionId: string,
    kind: StoredParameter['kind'],
    name: string,
    change: { value?: string | undefined; description?: string | undefined },
    atMs: number,
  ): Promise<boolean>;
  delete(regionId: string, kind: StoredParameter['kind'], name: string): Promise<boolean>;
  list(
    regionId: string,
    kind: StoredParameter['kind'],
    namePrefix: string | undefined,
    page: PageRequest,
  ): Promise<Page<StoredParameter>>;
}

/** A server node as the cluster sees it. */
export interface ServerNode {
  readonly id: string;
  readonly url: string;
  readonly version: string;
  readonly startedAtMs: number;
  readonly heartbeatAtMs: number;
  /** Agents connected to it at its last heartbeat. */
  readonly agents: number;
}

export interface ClusterRepo {
  /**
   * Takes or renews a named lease for `ttlMs`: true when `holder` has it now. One conditional
   * upsert decides, so at most one live holder exists and a dead holder's lease passes on expiry.
   */
  acquireLease(name: string, holder: string, nowMs: number, ttlMs: number): Promise<boolean>;
  /** Records a node's heartbeat (and registers it on the first). */
  heartbeat(node: ServerNode): Promise<void>;
  nodes(): Promise<ServerNode[]>;
  /**
   * Forgets nodes silent since before `beforeMs` and marks the agents they held offline (a node
   * that died could not say its channels closed). Returns the ids of the nodes forgotten.
   */
  forgetSilentNodes(beforeMs: number): Promise<string[]>;
}

/** An ended run of an invocation that delivers its output, with no delivery row yet. */
export interface RunToDeliver extends RunKey {
  readonly repeatMode: RepeatMode;
  /** The invocation's `oss://bucket/prefix`. */
  readonly target: string;
}

/** One run's upload of its output (docs/output-delivery.md). */
export interface OutputDelivery extends RunKey {
  readonly bucket: string;
  readonly objectKey: string;
  readonly status: OssOutputStatus;
  /** Attempts made (failed ones, and the one under way while Uploading). */
  readonly attempts: number;
  /** Pending: when to try (again); Uploading: when an attempt left by a dead node may be taken over. */
  readonly nextAttemptAtMs: number;
  readonly errorCode: string;
  readonly errorInfo: string;
}

export type OutputDeliveryChange = Pick<
  OutputDelivery,
  'status' | 'attempts' | 'nextAttemptAtMs' | 'errorCode' | 'errorInfo'
>;

/** Uploads of runs' output to object storage: found when runs end, tried until Finished or Failed. */
export interface OutputDeliveryRepo {
  /** Started runs that ended, of invocations still open for delivery, without a delivery row. */
  endedWithoutDelivery(limit: number): Promise<RunToDeliver[]>;
  /** Adds delivery rows (a row already there is kept). */
  add(rows: readonly OutputDelivery[], atMs: number): Promise<void>;
  /** Closes the invocations that ended and whose every ended run has a delivery row; returns how many. */
  closeDelivered(): Promise<number>;
  /** Pending or Uploading rows whose next attempt is due, oldest first. */
  due(atMs: number, limit: number): Promise<OutputDelivery[]>;
  /** Moves a row on; only from `from` (another node's change wins), true when changed. */
  update(key: RunKey, from: OssOutputStatus, change: OutputDeliveryChange, atMs: number): Promise<boolean>;
  /** The delivery rows of these runs, by `invokeId/instanceId/execution`. */
  read(keys: readonly RunKey[]): Promise<Map<string, OutputDelivery>>;
}

/** Cloud Assistant settings (ModifyCloudAssistantSettings), one JSON value per region and setting type. */
export interface SettingRepo {
  get(regionId: string, settingType: string): Promise<string | undefined>;
  /** Every region's value of one setting type, by region id. */
  all(settingType: string): Promise<Map<string, string>>;
  /** Stores the value (insert or replace). */
  put(regionId: string, settingType: string, value: string, atMs: number): Promise<void>;
}

/**
 * Files uploaded for SendFile beyond 32 KB (`domain/file-upload.ts`): the upload's row and its
 * bytes in chunks, each read and written whole, so nobody holds more than one chunk in memory.
 */
export interface FileUploadRepo {
  /**
   * Inserts the upload unless its owner already has `maxUnused` uploads no invocation uses
   * (checked by the insert itself). False when it had.
   */
  create(upload: FileUpload, maxUnused: number): Promise<boolean>;
  get(id: string): Promise<FileUpload | undefined>;
  /**
   * Stores `data` as the chunk at `offset` if the upload has received exactly `offset` bytes, and
   * moves its count on, in one transaction (a compare-and-set: two parts racing for one offset
   * store one). Returns the upload after the attempt (undefined: gone) and whether it appended.
   */
  append(
    id: string,
    offset: number,
    data: Buffer,
  ): Promise<{ upload: FileUpload; appended: boolean } | undefined>;
  /** The stored bytes from `offset` on, one chunk per query (the first cut to start at `offset`). */
  read(id: string, offset: number): AsyncIterable<Buffer>;
  /** Marks an upload holding every byte, their hash checked, Complete. */
  complete(id: string): Promise<void>;
  /** Forgets every byte received (they did not hash to the upload's Sha256): it starts again at 0. */
  restart(id: string): Promise<void>;
  /** Binds a Complete upload that no invocation uses to `invokeId`; false when it is not one. */
  use(id: string, invokeId: string): Promise<boolean>;
  /** Unbinds it again (the invocation was not created). */
  release(id: string, invokeId: string): Promise<void>;
  /** The upload a SendFile invocation sends. */
  ofInvocation(invokeId: string): Promise<FileUpload | undefined>;
  /**
   * Removes up to `limit` uploads with their chunks: unused ones created before `unusedBeforeMs`,
   * and those whose invocation has ended or is gone. Returns how many.
   */
  purge(unusedBeforeMs: number, limit: number): Promise<number>;
}

/** Best-effort messages between nodes: the database stays the truth, so a lost one only delays. */
export interface Notifications {
  publish(payload: string): Promise<void>;
  /**
   * Calls `onMessage` for every payload published by any node (this one included), and
   * `onResubscribed` after the listening connection was lost and came back (messages may have been missed).
   */
  listen(onMessage: (payload: string) => void, onResubscribed: () => void): Promise<() => Promise<void>>;
}

/** What LookupEvents filters on; every given field must match. Times are inclusive. */
export interface AuditFilter {
  readonly startMs?: number | undefined;
  readonly endMs?: number | undefined;
  readonly eventName?: string | undefined;
  readonly accessKeyId?: string | undefined;
  readonly eventRW?: AuditEvent['eventRW'] | undefined;
  readonly resourceId?: string | undefined;
}

export interface AuditEventRepo {
  /** Stores records in one statement per table (a batch of the group-commit writer), atomically. */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Newest first; `afterSeq` continues a listing below the last row of the previous page. */
  lookup(
    filter: AuditFilter,
    limit: number,
    afterSeq: number | undefined,
  ): Promise<{ events: AuditEvent[]; lastSeq: number | undefined; more: boolean }>;
  /** Deletes records older than `beforeMs`; returns how many. */
  purgeBefore(beforeMs: number): Promise<number>;
}

/** Terminal sessions (docs/terminal-sessions.md) and their recordings. */
export interface TerminalSessionRepo {
  /**
   * Inserts the session unless the instance already has `limits.perInstance` live sessions or all
   * instances `limits.total` (checked by the insert's transaction); the live counts when refused.
   */
  create(
    session: TerminalSession,
    tokenHash: string,
    limits: SessionLimits,
  ): Promise<{ created: true } | { created: false; live: { instance: number; total: number } }>;
  get(id: string): Promise<TerminalSession | undefined>;
  list(
    regionId: string,
    filter: { instanceId?: string | undefined; sessionId?: string | undefined },
    page: PageRequest,
  ): Promise<Page<TerminalSession>>;
  /**
   * Takes a Pending session for a client whose token hashes to `tokenHash`, before its expiry,
   * once: it becomes Connecting on `nodeId`. Undefined when it is not such a session.
   */
  claim(
    id: string,
    tokenHash: string,
    nodeId: string,
    clientIp: string,
    nowMs: number,
  ): Promise<TerminalSession | undefined>;
  /** The agent joined: Connecting → Connected. */
  connected(id: string, nowMs: number): Promise<void>;
  /** Ends a live session (Closed or Failed by the reason); false when it had ended already. */
  end(id: string, end: SessionEnd, nowMs: number): Promise<boolean>;
  /** Ends the Pending sessions whose token expired before `nowMs` (TokenExpired); their ids. */
  expireTokens(nowMs: number): Promise<string[]>;
  /** Ends the live sessions a node relays (it stopped or was forgotten); their ids. */
  endOnNode(nodeId: string, end: SessionEnd, nowMs: number): Promise<string[]>;
  /** Appends recorded bytes at `offset` of a direction, and the counts of kept and dropped bytes. */
  record(
    id: string,
    direction: RecordingDirection,
    offset: number,
    data: Buffer,
    dropped: number,
  ): Promise<void>;
  /** Up to `maxBytes` of a direction's recording from `offset` (chunks cut to fit). */
  readRecording(id: string, direction: RecordingDirection, offset: number, maxBytes: number): Promise<Buffer>;
  /** Removes up to `limit` ended sessions that ended before `beforeMs`, with their recordings. */
  purge(beforeMs: number, limit: number): Promise<number>;
}

export interface Webhook {
  readonly id: string;
  readonly url: string;
  readonly secretSealed: string;
  /** Empty: events of every resource group. */
  readonly resourceGroupId: string;
  /** Only events of invocations (or their commands) tagged so; an empty key: any, an empty value: any value. */
  readonly tag: { readonly key: string; readonly value: string };
  readonly createdAtMs: number;
  readonly deliveredCount: number;
  readonly failedCount: number;
  readonly lastError: string;
  readonly lastFailedAtMs: number;
  /** Events waiting in the outbox for this webhook. */
  readonly pending: number;
}

/** One event on its way to one webhook. */
export interface OutboxEntry {
  readonly seq: number;
  readonly eventId: string;
  readonly webhookId: string;
  readonly body: string;
  readonly createdAtMs: number;
  readonly attempts: number;
}

export interface WebhookRepo {
  create(
    webhook: Omit<Webhook, 'deliveredCount' | 'failedCount' | 'lastError' | 'lastFailedAtMs' | 'pending'>,
  ): Promise<void>;
  /** With `pending` false, `pending` is 0: the sender needs no count of the outbox. */
  list(pending?: boolean): Promise<Webhook[]>;
  get(id: string): Promise<Webhook | undefined>;
  /** Removes the webhook and what its outbox still holds; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** Queues one event for one webhook (TestWebhook). */
  enqueue(webhookId: string, eventId: string, body: string, atMs: number): Promise<void>;
  /**
   * Claims up to `limit` due rows until `claimedUntilMs`: a row claimed by one node is not handed
   * to another before then (a compare-and-set on each row, so two nodes never deliver one row at once).
   * With `room`, no more rows of a webhook than its room (webhooks not in it: `limit`).
   */
  claimDue(
    nowMs: number,
    claimedUntilMs: number,
    limit: number,
    room?: (webhookId: string) => number,
  ): Promise<OutboxEntry[]>;
  delivered(entry: OutboxEntry): Promise<void>;
  /** Another try at `nextAttemptAtMs`. */
  retryLater(entry: OutboxEntry, nextAttemptAtMs: number, error: string): Promise<void>;
  /** Given up: counted as failed on its webhook, removed from the outbox. */
  failed(entry: OutboxEntry, error: string, atMs: number): Promise<void>;
  /** Re-reads whether any webhook exists (what the state changes check before writing events). */
  refreshGate(): Promise<boolean>;
}

/** A run as a fleet-wide event stream sees it. */
export interface RunChange {
  readonly run: InvocationInstance;
  readonly resourceGroupId: string;
  readonly commandId: string;
}
