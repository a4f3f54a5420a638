import { parseContentEncoding } from '../../domain/content.js';
import { ApiError } from '../../domain/errors.js';
import type { InvocationInstance } from '../../domain/invocation.js';
import { isTimedInvocation, isTimedRun } from '../../domain/invocation-filters.js';
import { isFinal, legacyInstanceStatus, legacyInvokeStatus } from '../../domain/invocation-status.js';
import { type RollingSpec, rollingProgress } from '../../domain/rolling-run.js';
import type { Action } from '../action.js';
import {
  isoTime,
  optionalTime,
  readCommandInput,
  readInstanceIds,
  readInvokeInput,
  readPaging,
  readTags,
  renderPage,
  renderTags,
} from '../wire.js';
import { runFields, withExecutions, withLatest } from './run-fields.js';

export const invokeCommand: Action = {
  name: 'InvokeCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const input = readInvokeInput(params);
    const invocation = await services.invocations.invoke(regionId, params.required('CommandId'), input);
    return { InvokeId: invocation.id };
  },
};

export const runCommand: Action = {
  name: 'RunCommand',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const invokeInput = readInvokeInput(params);
    // RunCommand's ContentEncoding defaults to PlainText, and an unknown value counts as PlainText (fact sheet §5).
    const encoding =
      (params.string('ContentEncoding') ?? '').toLowerCase() === 'base64' ? 'Base64' : 'PlainText';
    const invocation = await services.invocations.run(
      regionId,
      // The Tag.N of RunCommand tag the invocation (read with the invoke half), not the command.
      readCommandInput(params, encoding, []),
      invokeInput,
      params.boolean('KeepCommand') ?? false,
    );
    return { CommandId: invocation.commandId, InvokeId: invocation.id };
  },
};

/** A rolling run's extension fields (docs/rolling-runs.md): its limits and where it stands. */
function rollingFields(rolling: RollingSpec, runs: readonly InvocationInstance[]) {
  const progress = rollingProgress(runs.map((run) => ({ ...run, held: run.held === true })));
  const exceeded = runs.some((run) => run.errorCode === 'MaxErrorsExceeded');
  return {
    MaxConcurrency: rolling.maxConcurrency,
    MaxErrors: rolling.maxErrors,
    RollingProgress: {
      Targets: progress.targets,
      Started: progress.started,
      Succeeded: progress.succeeded,
      Failed: progress.failed,
      Cancelled: progress.cancelled,
      Held: progress.held,
      // Why the held instances were not started, once MaxErrors was exceeded.
      ...(exceeded && { StopReason: 'MaxErrorsExceeded' }),
    },
  };
}

export const describeInvocations: Action = {
  name: 'DescribeInvocations',
  regionRequired: true,
  async handle(context) {
    const { params, regionId, services } = context;
    const page = readPaging(params);
    const includeOutput = params.boolean('IncludeOutput') ?? false;
    const encoding = parseContentEncoding(params.string('ContentEncoding'), 'Base64');
    const result = await services.invocations.describe(
      regionId,
      {
        invokeId: params.string('InvokeId') || undefined,
        commandId: params.string('CommandId') || undefined,
        commandName: params.string('CommandName') || undefined,
        commandType: params.string('CommandType') || undefined,
        instanceId: params.string('InstanceId') || undefined,
        repeatMode: params.string('RepeatMode') || undefined,
        invokeStatus: params.string('InvokeStatus') || undefined,
        resourceGroupId: params.string('ResourceGroupId') || undefined,
        // Absent lists both kinds: the SDK's "default false" would hide every live schedule.
        timed: params.boolean('Timed'),
        includeOutput,
        tags: readTags(params),
      },
      page,
    );
    const latest = await services.invocations.latestExecutions(withExecutions(result.items));
    const runsOf = await Promise.all(
      result.items.map(async (invocation) =>
        (await services.invocations.runs(invocation.id)).map((run) => withLatest(run, latest)),
      ),
    );
    // Every shown run's output in one read, and only when asked for.
    const outputs = includeOutput ? await services.invocations.outputTails(runsOf.flat()) : [];
    const deliveries = await services.outputDelivery.fields(
      result.items.flatMap((invocation, i) => (runsOf[i] ?? []).map((run) => ({ invocation, run }))),
    );
    let next = 0;
    const invocations = result.items.map((invocation, i) => {
      const rendered = (runsOf[i] ?? []).map((run) => {
        const delivery = deliveries[next];
        return runFields(run, outputs[next++], encoding, {
          InstanceInvokeStatus: legacyInstanceStatus(run.status),
          CreationTime: isoTime(run.createdAtMs),
          FinishTime: optionalTime(run.finishTimeMs),
          UpdateTime: isoTime(run.updateTimeMs),
          Timed: isTimedRun(invocation.repeatMode, run.status),
          ...delivery,
        });
      });
      return {
        InvokeId: invocation.id,
        CommandId: invocation.commandId,
        CommandName: invocation.commandName,
        CommandType: invocation.commandType,
        CommandDescription: invocation.commandDescription,
        CommandContent:
          encoding === 'PlainText'
            ? Buffer.from(invocation.contentBase64, 'base64').toString('utf8')
            : invocation.contentBase64,
        Parameters: JSON.stringify(invocation.parameters),
        RepeatMode: invocation.repeatMode,
        Frequency: invocation.frequency,
        Timeout: invocation.timeoutSeconds,
        Username: invocation.username,
        WorkingDir: invocation.workingDir,
        Launcher: invocation.launcher,
        ContainerId: invocation.containerId,
        ContainerName: invocation.containerName,
        TerminationMode: invocation.terminationMode,
        InvocationStatus: invocation.status,
        InvokeStatus: legacyInvokeStatus(invocation.status),
        Timed: isTimedInvocation(invocation.repeatMode, invocation.status),
        CreationTime: isoTime(invocation.createdAtMs),
        Tags: renderTags(invocation.tags),
        OssOutputDelivery: invocation.ossOutputDelivery,
        InvokeInstances: { InvokeInstance: rendered },
        ...(invocation.rolling && rollingFields(invocation.rolling, runsOf[i] ?? [])),
      };
    });
    return { ...renderPage(page, result), Invocations: { Invocation: invocations } };
  },
};

export const stopInvocation: Action = {
  name: 'StopInvocation',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const invokeId = params.required('InvokeId');
    await services.invocations.stop(regionId, invokeId, readInstanceIds(params, 50));
    return {};
  },
};

export const modifyInvocationAttribute: Action = {
  name: 'ModifyInvocationAttribute',
  regionRequired: true,
  async handle({ params, regionId, services }) {
    const invokeId = params.required('InvokeId');
    const page = await services.invocations.describe(
      regionId,
      { invokeId, tags: [] },
      { style: 'page', pageNumber: 1, pageSize: 1 },
    );
    const invocation = page.items[0];
    if (!invocation) throw new ApiError('InvalidInvokeId.NotFound');
    const runs = await services.invocations.runs(invokeId);
    if (runs.every((run) => isFinal(run.status)))
      throw new ApiError('InvalidOperation.InvokeAlreadyFinished');
    // Only scheduled and reboot invocations can be changed at all; changing them (and handing the
    // change to agents that hold the schedule) is not built yet, so nothing is changed.
    if (invocation.repeatMode === 'Once') {
      throw new ApiError('InvalidOperation.RepeatModeUnsupported', "This invocation's RepeatMode is Once.");
    }
    throw new ApiError(
      'Operation.Forbidden',
      `Changing a ${invocation.repeatMode} invocation is not supported by this server yet; stop it and invoke anew.`,
    );
  },
};
