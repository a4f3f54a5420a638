import type { Command } from 'commander';
import { downloadOutput } from '../../client/stream.js';
import { UserError } from '../errors.js';
import { follow, statusRows } from '../follow.js';
import { InvocationView } from '../invocation-view.js';
import { printJson, printTable, statusText } from '../presenter.js';
import { allPages, listParams, openSession, type Session, type SessionFlags, verb } from '../session.js';

interface Result {
  InstanceId: string;
  InvocationStatus: string;
  ExitCode?: number;
  ErrorCode: string;
  ErrorInfo: string;
  StartTime: string;
  /** When the run ended, however it ended (StopTime is only set when a stop was asked for). */
  FinishedTime: string;
  Repeats: number;
  Output: string;
}

interface ResultsFlags extends SessionFlags {
  instance?: string;
  history?: boolean;
  follow?: boolean;
}

interface Invocation {
  InvocationStatus: string;
  InvokeInstances: { InvokeInstance: { InstanceId: string; InvocationStatus: string }[] };
}

/**
 * The invocation, or the NotFound that StopInvocation gives: a list of its results is empty both
 * for an unknown id and for none yet, so the verbs that read them ask first.
 */
async function invocationOf(session: Session, invokeId: string): Promise<Invocation> {
  const body = await session.call<{ Invocations: { Invocation: Invocation[] } }>('DescribeInvocations', {
    InvokeId: invokeId,
  });
  const invocation = body.Invocations.Invocation[0];
  if (!invocation) {
    throw new UserError(`InvalidInvokeId.NotFound: no invocation ${invokeId} in ${session.config.region}`);
  }
  return invocation;
}

// Statuses that can change no more: of an invocation, and of one instance's run.
const finished = new Set(['Success', 'Failed', 'Stopped', 'PartialFailed']);
const instanceFinished = new Set([
  'Success',
  'Failed',
  'Error',
  'Timeout',
  'Invalid',
  'Aborted',
  'Cancelled',
  'Terminated',
]);

/** `openassist results`, `output` and `stop`: one invocation's results, its full output, stopping it. */
export function registerResults(program: Command): void {
  verb(program, 'results', "an invocation's per-instance results", 'openassist results t-… --follow')
    .argument('<invoke-id>')
    .option('--instance <id>', 'one instance only')
    .option('--history', 'every run of a schedule or reboot task')
    .option('--follow', 'update until every instance is done')
    .action(async (invokeId: string, flags: ResultsFlags) => {
      const session = await openSession(flags);
      const { call, p, config } = session;
      await invocationOf(session, invokeId);
      const describe = () =>
        allPages(async (NextToken) => {
          const body = await call<{
            Invocation: { InvocationResults: { InvocationResult: Result[] }; NextToken?: string };
          }>('DescribeInvocationResults', {
            InvokeId: invokeId,
            InstanceId: flags.instance,
            IncludeHistory: flags.history,
            ContentEncoding: 'PlainText',
            MaxResults: 50,
            NextToken,
          });
          return {
            items: body.Invocation.InvocationResults.InvocationResult,
            nextToken: body.Invocation.NextToken,
          };
        });
      let results = await describe();
      if (flags.follow) {
        const view = new InvocationView(results.map((result) => result.InstanceId));
        if (!p.json) p.out.write(`${invokeId}\n`);
        await follow(config, { ...p, json: true, live: false }, invokeId, view, {
          showOutput: false,
          instanceId: flags.instance,
        });
        results = await describe();
        if (!p.json && !p.live) printTable(p, ['Instance', 'Status', 'Exit', 'Error'], statusRows(p, view));
      }
      if (p.json) return printJson(p, results);
      printTable(
        p,
        ['Instance', 'Status', 'Exit', 'Error', 'Started', 'Finished', 'Runs'],
        results.map((result) => [
          result.InstanceId,
          statusText(p, result.InvocationStatus),
          result.ExitCode,
          [result.ErrorCode, result.ErrorInfo].filter(Boolean).join(': '),
          result.StartTime,
          result.FinishedTime,
          result.Repeats,
        ]),
      );
    });

  verb(
    program,
    'output',
    "an invocation's whole output (or follow it live)",
    'openassist output t-… --instance mi-… --follow',
  )
    .argument('<invoke-id>')
    .option('--instance <id>', 'one instance only')
    .option('--follow', 'stream the output as it is produced, until the runs end')
    .action(async (invokeId: string, flags: ResultsFlags) => {
      const session = await openSession(flags);
      const { call, p, config } = session;
      await invocationOf(session, invokeId);
      if (flags.follow) {
        const view = await follow(config, { ...p, live: false }, invokeId, new InvocationView(), {
          showOutput: true,
          instanceId: flags.instance,
        });
        if (p.json)
          printJson(
            p,
            view.rows().map((run) => ({ InstanceId: run.instanceId, Output: run.output })),
          );
        return;
      }
      const body = await call<{ Invocation: { InvocationResults: { InvocationResult: Result[] } } }>(
        'DescribeInvocationResults',
        { InvokeId: invokeId, InstanceId: flags.instance, PageSize: 50, ContentEncoding: 'PlainText' },
      );
      const instances = body.Invocation.InvocationResults.InvocationResult.map((result) => result.InstanceId);
      const outputs: { InstanceId: string; Output: string }[] = [];
      for (const instanceId of instances) {
        const bytes = await downloadOutput(config, invokeId, instanceId);
        outputs.push({ InstanceId: instanceId, Output: new TextDecoder().decode(bytes) });
        if (p.json) continue;
        if (instances.length === 1) p.out.write(bytes);
        else
          p.out.write(
            new TextDecoder().decode(bytes).replace(/^(?=.)/gm, `${p.colors.cyan(`[${instanceId}]`)} `),
          );
      }
      if (p.json) printJson(p, outputs);
    });

  verb(program, 'stop', 'stop an invocation on all or some instances', 'openassist stop t-… --instance mi-…')
    .argument('<invoke-id>')
    .option('--instance <id...>', 'only these instances')
    .action(async (invokeId: string, flags: SessionFlags & { instance?: string[] }) => {
      const session = await openSession(flags);
      const { call, p } = session;
      // Stopping what has ended does nothing: say so, with how it ended, instead of "stopping".
      const invocation = await invocationOf(session, invokeId);
      const named = invocation.InvokeInstances.InvokeInstance.filter(
        (run) => !flags.instance?.length || flags.instance.includes(run.InstanceId),
      );
      const ended = flags.instance?.length
        ? named.length > 0 && named.every((run) => instanceFinished.has(run.InvocationStatus))
        : finished.has(invocation.InvocationStatus);
      if (ended) {
        const how = flags.instance?.length
          ? named.map((run) => `${run.InstanceId} ${run.InvocationStatus}`).join(', ')
          : invocation.InvocationStatus;
        if (p.json) return printJson(p, { InvokeId: invokeId, AlreadyFinished: true, Status: how });
        p.out.write(`${invokeId} already finished: ${how}, nothing to stop\n`);
        return;
      }
      const body = await call('StopInvocation', {
        InvokeId: invokeId,
        ...listParams('InstanceId', flags.instance),
      });
      if (p.json) return printJson(p, body);
      p.out.write(`${invokeId} stopping\n`);
    });
}
