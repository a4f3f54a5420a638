import { upgradeNeeded } from '../domain/agent-features.js';
import {
  type Command,
  type CommandDraft,
  type CreateCommandInput,
  newCommand,
  validateCreateCommand,
} from '../domain/command.js';
import { containerIdText, containerMisfit, parseContainerTarget } from '../domain/container.js';
import { ApiError } from '../domain/errors.js';
import type { ManagedInstance } from '../domain/fleet.js';
import { parseFrequency } from '../domain/frequency.js';
import { newInvokeId } from '../domain/ids.js';
import {
  commandFits,
  type Invocation,
  type InvocationInstance,
  type InvokeInput,
  type InvokeRequest,
  renderScript,
  resolveParameters,
  validateInvokeRequest,
  waitsForBoot,
} from '../domain/invocation.js';
import { effectiveInvocationFilters } from '../domain/invocation-filters.js';
import { applyStop, applyTaskEvent, followExecution } from '../domain/invocation-state.js';
import { aggregateStatus, invocationStatusFilter, isFinal } from '../domain/invocation-status.js';
import {
  defaultOssDeliveryConfig,
  deliveryTarget,
  type OssDeliveryConfig,
  ossUri,
} from '../domain/output-delivery.js';
import type { Page, PageRequest } from '../domain/paging.js';
import { resolveRolling } from '../domain/rolling-run.js';
import { runError } from '../domain/run-errors.js';
import { type RawTag, validateTagFilters } from '../domain/tags.js';
import type { HeldRun, TaskEvent, TaskSpec } from '../protocol/messages.js';
import type {
  InitialRun,
  InvocationFilter,
  InvocationResult,
  RunKey,
  RunWrites,
  Store,
} from '../store/store.js';
import { InvocationChanges } from './invocation-changes.js';
import { InvocationOutputService } from './invocation-output.js';
import { type DescribeResultsInput, listInvocationResults } from './invocation-results.js';
import { requestedInstances } from './invocation-targets.js';
import type { ParameterService } from './parameters.js';
import { dispatchStartMs, type RunObserver } from './run-observer.js';
import { fileTask } from './send-files.js';

/** A new invocation's task, rendered for each instance it goes to (the script names the instance). */
export interface NewTask {
  readonly invokeId: string;
  /** When it was stored: its dispatch latency starts here. */
  readonly createdAtMs: number;
  render(instance: ManagedInstance): Promise<TaskSpec>;
}

/** What the invocation service needs of dispatch: wake delivery, pass cancellations on. */
export interface TaskDispatcher {
  /** `created`: a new invocation whose row 0 waits on these instances, sent as it is (no read of the store). */
  wake(instanceIds: readonly string[], created?: NewTask): void;
  cancel(instanceId: string, invokeId: string, terminationMode: 'Process' | 'ProcessTree'): void;
}

export interface DescribeInvocationsInput {
  invokeId?: string | undefined;
  commandId?: string | undefined;
  commandName?: string | undefined;
  commandType?: string | undefined;
  instanceId?: string | undefined;
  repeatMode?: string | undefined;
  invokeStatus?: string | undefined;
  resourceGroupId?: string | undefined;
  /** Only the tasks still to run again (true), or only the others (false). */
  timed?: boolean | undefined;
  /** The response will carry every run's output. */
  includeOutput?: boolean | undefined;
  tags: readonly RawTag[];
}

export interface OutputLimits {
  /** What a Describe call shows: the last 24 KB (DESIGN §4). */
  readonly shownBytes: number;
  /** What the server keeps of one run's output. */
  readonly keptBytes: number;
}

/** InvokeCommand, RunCommand, the Describe calls for results, StopInvocation, and agent events. */
export class InvocationService {
  /** Wakes readers following an invocation whenever this node changes one of its rows. */
  readonly changes = new InvocationChanges();

  constructor(
    private readonly store: Store,
    private readonly dispatcher: TaskDispatcher,
    private readonly nowMs: () => number,
    readonly output: OutputLimits,
    /** Invocations per region per UTC day (`OPENASSIST_DAILY_INVOCATION_QUOTA`). */
    private readonly dailyQuota: number,
    private readonly parameterStore: ParameterService,
    /** The region's default delivery of output (ModifyCloudAssistantSettings' OssDeliveryConfig). */
    private readonly deliveryDefault: (regionId: string) => Promise<OssDeliveryConfig> = async () =>
      defaultOssDeliveryConfig,
    /** The metrics, when the server keeps them. */
    private readonly observer?: RunObserver,
  ) {
    this.liveOutput = new InvocationOutputService(store, this.changes);
    // A rolling run's instances released by a run's end (on any path, after its commit) go out now.
    store.invocations.onReleased((instanceIds) => this.dispatcher.wake(instanceIds));
  }

  /** Whole output downloads and live following (OpenAssist extensions). */
  readonly liveOutput: InvocationOutputService;

  async invoke(regionId: string, commandId: string, input: InvokeInput): Promise<Invocation> {
    const request = validateInvokeRequest(input);
    // Neither the command's tags nor the instances' are part of an invocation.
    const command = await this.store.commands.get(regionId, commandId, { tags: false });
    if (!command)
      throw new ApiError('InvalidCmdId.NotFound', `No command ${commandId.slice(0, 80)} in ${regionId}.`);
    return this.start(regionId, command, request);
  }

  /** RunCommand: a command made on the spot (kept only with KeepCommand), invoked at once. */
  async run(
    regionId: string,
    commandInput: CreateCommandInput,
    invokeInput: InvokeInput,
    keepCommand: boolean,
  ): Promise<Invocation> {
    const draft: CommandDraft = validateCreateCommand({
      ...commandInput,
      name: commandInput.name || 'RunCommand',
    });
    const request = validateInvokeRequest(invokeInput);
    const command: Command = { ...newCommand(draft, regionId, this.nowMs()), seq: 0 };
    return this.start(regionId, command, request, keepCommand);
  }

  /** Everything else is validated for every instance before anything is created (all-or-nothing). */
  private async start(
    regionId: string,
    command: Command,
    request: InvokeRequest,
    keep = false,
  ): Promise<Invocation> {
    const instances = await requestedInstances(this.store, regionId, request);
    const parameters = resolveParameters(command, request.parametersText);
    await this.parameterStore.checkReferences(regionId, [
      Buffer.from(command.contentBase64, 'base64').toString('utf8'),
      ...Object.values(parameters),
    ]);
    if (request.frequency !== '') {
      // Checked here against the run's timeout (the seed's rules), for Period and for a DryRun that
      // names one; the agent evaluates it with the same code.
      parseFrequency(request.frequency, {
        nowMs: this.nowMs(),
        timeoutSeconds: request.timeoutSeconds ?? command.timeoutSeconds,
      });
    }
    for (const instance of instances) this.checkFits(command, instance);
    const windowsPasswordName = await this.windowsPasswordName(regionId, command, request);
    if (request.repeatMode === 'DryRun') throw new ApiError('DryRunOperation');
    const misfit = request.container
      ? containerMisfit(
          command.type,
          renderScript(Buffer.from(command.contentBase64, 'base64').toString('utf8'), parameters, {}),
        )
      : undefined;
    const delivery = deliveryTarget(request.ossOutputDelivery, await this.deliveryDefault(regionId));
    const rolling = request.rolling && {
      ...request.rolling,
      ...resolveRolling(request.rolling, instances.length),
    };
    // A rolling run releases its instances in the order the request named them.
    const ordered = rolling ? inRequestOrder(instances, request.instanceIds) : instances;
    const initialRuns = holdBack(
      ordered.map((instance) => initialRun(request, instance, misfit)),
      rolling?.concurrency,
    );
    const now = this.nowMs();
    const invocation = await this.store.invocations.create(
      {
        id: newInvokeId(),
        regionId,
        commandId: command.id,
        commandName: command.name,
        commandType: command.type,
        commandDescription: command.description,
        contentBase64: command.contentBase64,
        parameters,
        repeatMode: request.repeatMode,
        frequency: request.frequency,
        timeoutSeconds: request.timeoutSeconds ?? command.timeoutSeconds,
        username: request.username,
        windowsPasswordName,
        workingDir: request.workingDir ?? command.workingDir,
        launcher: request.launcher ?? command.launcher,
        containerId: request.container ? containerIdText(request.container) : '',
        containerName: request.container?.name ?? '',
        terminationMode: request.terminationMode,
        resourceGroupId: request.resourceGroupId,
        clientToken: request.clientToken,
        status: aggregateStatus(initialRuns.map((run) => run.status)),
        createdAtMs: now,
        tags: request.tags,
        ...(rolling && { rolling }),
        ...(delivery && { ossOutputDelivery: ossUri(delivery) }),
      },
      initialRuns,
      { utcDay: new Date(now).toISOString().slice(0, 10), limit: this.dailyQuota },
    );
    if (!invocation) {
      throw new ApiError(
        'Invocation.ExceedQuota',
        `The quota is ${this.dailyQuota} invocations per region per UTC day.`,
      );
    }
    this.observer?.invocationCreated(invocation.repeatMode);
    if (keep) await this.store.commands.insert(command);
    this.dispatcher.wake(
      initialRuns.filter((run) => run.status === 'Pending' && !run.held).map((run) => run.instanceId),
      {
        invokeId: invocation.id,
        createdAtMs: invocation.createdAtMs,
        render: (instance) => this.taskFor(invocation, 0, instance),
      },
    );
    return invocation;
  }

  /**
   * Windows run-as (the seed): a user other than System needs WindowsPasswordName naming a secret
   * parameter. Returns the name to keep with the invocation; empty for root, System or Linux.
   */
  private async windowsPasswordName(
    regionId: string,
    command: Command,
    request: InvokeRequest,
  ): Promise<string> {
    const runAs =
      command.type !== 'RunShellScript' && request.username !== '' && request.username !== 'System';
    if (!runAs) return '';
    if (request.windowsPasswordName === '') throw new ApiError('WindowsPasswordName.Missed');
    await this.parameterStore.requireSecret(regionId, request.windowsPasswordName);
    return request.windowsPasswordName;
  }

  private checkFits(command: Command, instance: ManagedInstance): void {
    if (instance.status !== 'Running') {
      throw new ApiError('InvalidInstance.NotMatch', `${instance.id} is ${instance.status}, not Running.`);
    }
    if (!commandFits(command.type, instance.osType, instance.shells)) {
      throw new ApiError(
        'InvalidInstance.NotMatch',
        `${command.type} cannot run on ${instance.id} (${instance.osType}).`,
      );
    }
  }

  async describe(
    regionId: string,
    input: DescribeInvocationsInput,
    page: PageRequest,
  ): Promise<Page<Invocation>> {
    if (input.invokeStatus !== undefined && invocationStatusFilter(input.invokeStatus) === undefined) {
      throw new ApiError(
        'InvalidParameter',
        `InvokeStatus "${input.invokeStatus.slice(0, 40)}" is not a status.`,
      );
    }
    const { includeOutput: _, ...effective } = effectiveInvocationFilters(input, input.invokeId);
    const statuses =
      effective.invokeStatus === undefined ? undefined : invocationStatusFilter(effective.invokeStatus);
    const filter: InvocationFilter = {
      regionId,
      ...effective,
      statuses,
      tags: validateTagFilters(input.tags),
    };
    return this.store.invocations.list(filter, page);
  }

  /** A command's invocation: a sent file's (`f-…`) is not one (DescribeSendFileResults shows those). */
  async get(regionId: string, invokeId: string): Promise<Invocation> {
    const invocation = await this.store.invocations.get(regionId, invokeId);
    if (!invocation || invocation.file)
      throw new ApiError(
        'InvalidInvokeId.NotFound',
        `No invocation ${invokeId.slice(0, 80)} in ${regionId}.`,
      );
    return invocation;
  }

  runs(invokeId: string): Promise<InvocationInstance[]> {
    return this.store.invocations.runs(invokeId);
  }

  /** The newest run of each schedule or reboot task among `invokeIds`, by `invokeId/instanceId`. */
  latestExecutions(invokeIds: readonly string[]): Promise<Map<string, InvocationInstance>> {
    return this.store.invocations.latestExecutions(invokeIds);
  }

  results(regionId: string, input: DescribeResultsInput, page: PageRequest): Promise<Page<InvocationResult>> {
    return listInvocationResults(this.store, regionId, input, page);
  }

  /** The shown tail of each run's output, in order, in one read. */
  outputTails(runs: readonly InvocationInstance[]): Promise<Buffer[]> {
    return this.store.invocations.outputTails(runs, this.output.shownBytes);
  }

  /**
   * StopInvocation: what has not reached the agent is cancelled; what it holds (a running run, a
   * schedule) is stopping until it reports; finished runs are left as they are.
   */
  async stop(regionId: string, invokeId: string, instanceIds: readonly string[]): Promise<void> {
    const invocation = await this.get(regionId, invokeId);
    const runs = await this.store.invocations.runs(invokeId);
    const unknown = instanceIds.filter((id) => !runs.some((run) => run.instanceId === id));
    if (unknown.length > 0)
      throw new ApiError('InvalidInstanceId.NotFound', `Not in this invocation: ${unknown.join(', ')}.`);
    const targets = instanceIds.length > 0 ? instanceIds : runs.map((run) => run.instanceId);
    // A rolling run stops releasing: what it still holds ends Cancelled before the rest stops.
    if (invocation.rolling) {
      await this.store.invocations.cancelHeld(
        invokeId,
        instanceIds.length > 0 ? instanceIds : undefined,
        this.nowMs(),
      );
    }
    for (const instanceId of targets) {
      let stopping = false;
      // Newest first: a schedule's runs stop before row 0 does.
      for (const live of await this.store.invocations.liveRuns(invokeId, instanceId)) {
        const now = this.nowMs();
        const updated = await this.store.invocations.updateRun(live, (run) => applyStop(run, now), now, {
          follow: (standing, execution, mode) => followExecution(standing, execution, mode, now),
        });
        stopping ||= updated?.status === 'Stopping';
      }
      if (stopping) this.dispatcher.cancel(instanceId, invokeId, invocation.terminationMode);
    }
    this.changes.changed(invokeId);
  }

  /**
   * The task an agent receives for one run: custom parameters, built-ins and Parameter Store
   * references filled in. Secret values exist only in this message, never in the invocation's record.
   */
  async taskFor(invocation: Invocation, execution: number, instance: ManagedInstance): Promise<TaskSpec> {
    if (invocation.file) {
      // Content is empty only for a file sent as an upload (SendFile's Content is never empty).
      const upload = invocation.contentBase64
        ? undefined
        : await this.store.fileUploads.ofInvocation(invocation.id);
      return fileTask(invocation, invocation.file, upload);
    }
    const rendered = renderScript(
      Buffer.from(invocation.contentBase64, 'base64').toString('utf8'),
      invocation.parameters,
      {
        RegionId: invocation.regionId,
        InstanceId: instance.id,
        InstanceName: instance.name,
        InvokeId: invocation.id,
        CommandId: invocation.commandId,
      },
    );
    const script = await this.parameterStore.fill(invocation.regionId, rendered);
    const container = parseContainerTarget(invocation.containerId, invocation.containerName);
    const password = invocation.windowsPasswordName
      ? await this.parameterStore.fill(
          invocation.regionId,
          `{{oos-secret:${invocation.windowsPasswordName}}}`,
        )
      : undefined;
    return {
      ...(password !== undefined && { password }),
      invokeId: invocation.id,
      commandType: invocation.commandType,
      script,
      username: invocation.username,
      workingDir: invocation.workingDir,
      timeoutSeconds: invocation.timeoutSeconds,
      terminationMode: invocation.terminationMode,
      ...(execution > 0 && { execution }),
      ...(container && { container }),
      ...(invocation.repeatMode === 'Period' && {
        schedule: { frequency: invocation.frequency, startMs: invocation.createdAtMs },
      }),
    };
  }

  /**
   * Applies an agent's event to its own run (instance id from the authenticated channel, so an agent
   * can touch nothing else). Returns false when the run is over or unknown: the agent should drop it.
   */
  async applyEvent(
    instanceId: string,
    invokeId: string,
    execution: number,
    event: TaskEvent,
  ): Promise<boolean> {
    const [live] = await this.applyEvents(instanceId, invokeId, execution, [event]);
    return live ?? false;
  }

  /**
   * Applies a burst of one run's events in order, in one transaction (one commit, not one per
   * event); per event, whether the run is still live (as `applyEvent`).
   */
  async applyEvents(
    instanceId: string,
    invokeId: string,
    execution: number,
    events: readonly TaskEvent[],
  ): Promise<boolean[]> {
    const key = { invokeId, instanceId, execution };
    const apply = async (repo: RunWrites) => {
      const live: boolean[] = [];
      for (const event of events) live.push(await this.applyOne(repo, key, event));
      return live;
    };
    try {
      return events.length === 1
        ? await apply(this.store.invocations)
        : await this.store.invocations.inOneTransaction(apply);
    } finally {
      this.changes.changed(invokeId);
    }
  }

  private async applyOne(repo: RunWrites, key: RunKey, event: TaskEvent): Promise<boolean> {
    if (event.kind === 'output') {
      const data = Buffer.from(event.data, 'base64');
      await repo.appendOutput(key, event.offset, data, this.output.keptBytes);
      return true;
    }
    const now = this.nowMs();
    let startedAfterMs: number | undefined;
    const updated = await repo.updateRun(
      key,
      (run, mode) => {
        if (event.kind === 'started' && run.startTimeMs === 0) startedAfterMs = dispatchStartMs(mode, run);
        return applyTaskEvent(run, event, mode);
      },
      now,
      {
        create: key.execution > 0,
        follow: (standing, run, mode) => followExecution(standing, run, mode, now),
      },
    );
    if (!updated) return false;
    if (startedAfterMs !== undefined && updated.startTimeMs > 0)
      this.observer?.runStarted(now - startedAfterMs);
    return !(['Cancelled', 'Aborted'].includes(updated.status) && event.kind !== 'finished');
  }

  /**
   * An agent said hello. After a new boot its reboot tasks are armed; then what it holds is
   * reconciled with the server's (authoritative) lists: a run delivered to it that it does not hold
   * ends `Error` / `ExecutionLost`, a schedule it lost is delivered again. Returns the schedules it
   * must drop (each once). A list the agent left out (an older agent, or too many) is not reconciled.
   */
  async greeted(
    instanceId: string,
    rebooted: boolean,
    held: {
      readonly schedules?: readonly string[] | undefined;
      readonly runs?: readonly HeldRun[] | undefined;
    },
  ): Promise<string[]> {
    const now = this.nowMs();
    if (rebooted) await this.store.invocations.armForBoot(instanceId, now);
    if (held.runs !== undefined) await this.endLostRuns(instanceId, held.runs);
    if (held.schedules === undefined) return [];
    const heldByAgent = new Set(held.schedules);
    const active = await this.store.invocations.activeSchedules(instanceId);
    const known = new Set(active.map((schedule) => schedule.invokeId));
    // Delivered but not held: the agent lost it. Held but not delivered is fine: its `accepted`
    // is still on the way (the connection broke first) and will arrive after the welcome.
    const lost = active.filter((schedule) => schedule.delivered && !heldByAgent.has(schedule.invokeId));
    await this.store.invocations.redeliver(
      instanceId,
      lost.map((schedule) => schedule.invokeId),
      now,
    );
    return [...heldByAgent].filter((id) => !known.has(id));
  }

  /**
   * Runs delivered to an agent that its hello does not list: it lost them (a wiped journal), so
   * no result will ever come. Runs it accepted after saying hello are not delivered yet here.
   */
  private async endLostRuns(instanceId: string, heldRuns: readonly HeldRun[]): Promise<void> {
    const held = new Set(heldRuns.map((run) => `${run.invokeId}#${run.execution}`));
    for (const key of await this.store.invocations.deliveredRuns(instanceId)) {
      if (held.has(`${key.invokeId}#${key.execution}`)) continue;
      await this.endRun(key, 'ExecutionLost');
    }
  }

  /**
   * Ends a run that is still live (not final) as `Error` with `errorCode`: the server gives up
   * waiting for its agent. Returns whether it did (the agent may have reported meanwhile).
   */
  private async endRun(key: RunKey, errorCode: 'ExecutionLost' | 'ExecutionNotReported'): Promise<boolean> {
    const now = this.nowMs();
    const updated = await this.store.invocations.updateRun(
      key,
      (run) =>
        isFinal(run.status) ? undefined : { status: 'Error', finishTimeMs: now, ...runError(errorCode) },
      now,
      { follow: (standing, run, mode) => followExecution(standing, run, mode, now) },
    );
    this.changes.changed(key.invokeId);
    return updated?.status === 'Error' && updated.errorCode === errorCode;
  }

  /**
   * Started runs still not reported `graceMs` after their timeout ran out end `Error` /
   * `ExecutionNotReported` (a leased cluster job: one node does it for all). The agent is told to
   * stop a run of a task it may still run; a schedule's run is left to the schedule.
   */
  async endPastDeadline(graceMs: number): Promise<number> {
    let ended = 0;
    for (const key of await this.store.invocations.pastDeadline(this.nowMs(), graceMs)) {
      if (!(await this.endRun(key, 'ExecutionNotReported'))) continue;
      ended++;
      if (key.execution === 0) this.dispatcher.cancel(key.instanceId, key.invokeId, 'ProcessTree');
    }
    return ended;
  }

  /** Deletes ended invocations older than the retention, a batch at a time (a leased cluster job). */
  async purgeExpired(retentionDays: number): Promise<number> {
    if (retentionDays === 0) return 0;
    const beforeMs = this.nowMs() - retentionDays * 86_400_000;
    let purged = 0;
    for (let batch = -1; batch !== 0; purged += batch) {
      batch = await this.store.invocations.purgeEndedBefore(beforeMs, 500);
    }
    return purged;
  }

  /** Runs still waiting for an offline agent after the delivery timeout become Aborted. */
  async abortOverdue(deliveryTimeoutMs: number): Promise<number> {
    const now = this.nowMs();
    let aborted = 0;
    for (const key of await this.store.invocations.overdue(now - deliveryTimeoutMs)) {
      const updated = await this.store.invocations.updateRun(
        key,
        (run) =>
          run.status === 'Pending' && !run.delivered
            ? {
                status: 'Aborted',
                finishTimeMs: now,
                ...runError('ClientNotResponse'),
              }
            : undefined,
        now,
        { follow: (standing, run, mode) => followExecution(standing, run, mode, now) },
      );
      if (updated?.status === 'Aborted') {
        aborted++;
        this.changes.changed(key.invokeId);
      }
    }
    this.observer?.deliveryTimedOut(aborted);
    return aborted;
  }
}

/** Instances as `instanceIds` names them (those found by tag, unnamed, keep the store's order). */
function inRequestOrder(instances: ManagedInstance[], instanceIds: readonly string[]): ManagedInstance[] {
  const rank = new Map(instanceIds.map((id, i) => [id, i]));
  return [...instances].sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
}

/**
 * A rolling run's first `concurrency` runnable instances (in the request's order) go out at once,
 * the rest wait to be released as runs end. Without pacing the runs are left as they are.
 */
function holdBack(runs: InitialRun[], concurrency: number | undefined): InitialRun[] {
  if (concurrency === undefined) return runs;
  let released = 0;
  return runs.map((run) => {
    const held = run.status === 'Pending' && released++ >= concurrency;
    return { ...run, held };
  });
}

/**
 * How an invocation starts on one instance: delivered now, waiting for a boot, or not runnable
 * there (its agent too old for the task, or the script unfit for a container: `misfit` says why).
 */
function initialRun(
  request: InvokeRequest,
  instance: ManagedInstance,
  misfit: string | undefined,
): InitialRun {
  const mode = request.repeatMode;
  if (misfit !== undefined) {
    return {
      instanceId: instance.id,
      status: 'Invalid',
      ...runError('CommandNotApplicable', misfit),
    };
  }
  const minimum = upgradeNeeded(request.container ? [mode, 'containers'] : [mode], instance.agentVersion);
  if (minimum !== undefined) {
    return {
      instanceId: instance.id,
      status: 'Invalid',
      ...runError('ClientNeedUpgrade'),
    };
  }
  return {
    instanceId: instance.id,
    status: waitsForBoot(mode) ? 'Scheduled' : 'Pending',
    errorCode: '',
    errorInfo: '',
  };
}
