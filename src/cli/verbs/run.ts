import type { Command } from 'commander';
import { ApiCallError } from '../../client/api.js';
import { ConfigError } from '../../config.js';
import { UserError } from '../errors.js';
import { follow, printSummary } from '../follow.js';
import { InvocationView } from '../invocation-view.js';
import { printJson } from '../presenter.js';
import { listParams, openSession, type Session, type SessionFlags, verb } from '../session.js';
import { scriptOf, scriptOptions } from './commands.js';

interface InvokeFlags extends SessionFlags {
  instance?: string[];
  tag?: string[];
  timeout?: string;
  username?: string;
  workdir?: string;
  param?: string[];
  containerId?: string;
  containerName?: string;
  frequency?: string;
  repeatMode?: string;
  maxConcurrency?: string;
  maxErrors?: string;
  wait: boolean;
}

interface RunFlags extends InvokeFlags {
  script?: string;
  file?: string;
  type?: string;
}

/** `--tag k=v` selects instances by tag (ResourceTag.N), as InvokeCommand does. */
function targets(flags: InvokeFlags): Record<string, string> {
  if (!flags.instance?.length && !flags.tag?.length)
    throw new ConfigError('name instances with --instance ID or --tag KEY=VALUE');
  const params = listParams('InstanceId', flags.instance);
  (flags.tag ?? []).forEach((pair, index) => {
    const eq = pair.indexOf('=');
    params[`ResourceTag.${index + 1}.Key`] = eq < 0 ? pair : pair.slice(0, eq);
    if (eq >= 0) params[`ResourceTag.${index + 1}.Value`] = pair.slice(eq + 1);
  });
  return params;
}

/** `--param k=v` pairs as the JSON object of Parameters. */
function parameters(pairs: readonly string[] | undefined): string | undefined {
  if (!pairs?.length) return undefined;
  const values: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--param takes NAME=VALUE, got "${pair}"`);
    values[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return JSON.stringify(values);
}

const invokeParams = (flags: InvokeFlags) => ({
  ...targets(flags),
  Timeout: flags.timeout,
  Username: flags.username,
  WorkingDir: flags.workdir,
  Parameters: parameters(flags.param),
  ContainerId: flags.containerId,
  ContainerName: flags.containerName,
  Frequency: flags.frequency,
  RepeatMode: flags.repeatMode,
  // Extensions (docs/rolling-runs.md): the server releases the instances a few at a time.
  MaxConcurrency: flags.maxConcurrency,
  MaxErrors: flags.maxErrors,
});

/**
 * Starts the run. A schedule whose runs would overlap their timeout is refused by the server; the
 * timeout is the one thing the user may not know they set (60 s unless --timeout), so say how.
 */
async function start(
  session: Session,
  action: 'RunCommand' | 'InvokeCommand',
  params: Record<string, string | number | boolean | undefined>,
): Promise<string> {
  try {
    return (await session.call<{ InvokeId: string }>(action, params)).InvokeId;
  } catch (error) {
    if (
      error instanceof ApiCallError &&
      error.code === 'InvalidParam.Frequency' &&
      /timeout/.test(error.serverMessage)
    ) {
      const fallback = action === 'RunCommand' ? '60 s' : "the saved command's";
      const given = params.Timeout === undefined ? ` (the default is ${fallback})` : '';
      throw new UserError(
        `${error.code}: ${error.serverMessage} Give each run a timeout shorter than the interval with --timeout SECONDS${given}.`,
      );
    }
    throw error;
  }
}

/**
 * Follows a run until it ends. Ctrl-C stops following, not the run: it goes on, so say which it is
 * and how to come back to it or stop it.
 */
async function followUntilDone(
  session: Session,
  invokeId: string,
  flags: InvokeFlags,
): Promise<InvocationView> {
  const { p, config } = session;
  const leave = () => {
    p.err.write(
      `\nopenassist: stopped following ${invokeId}; it goes on running.\n` +
        `  follow it: openassist results ${invokeId} --follow   (its output: openassist output ${invokeId} --follow)\n` +
        `  stop it:   openassist stop ${invokeId}\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', leave);
  try {
    return await follow(config, p, invokeId, new InvocationView(flags.instance ?? []), { showOutput: true });
  } finally {
    process.off('SIGINT', leave);
  }
}

/** Prints where a run stands and returns the exit status: 0 only when every instance succeeded. */
async function waitAndReport(session: Session, invokeId: string, flags: InvokeFlags): Promise<number> {
  const { p } = session;
  const later = flags.frequency || (flags.repeatMode && flags.repeatMode !== 'Once');
  if (!flags.wait || later) {
    // A schedule or a reboot task runs later, maybe many times: say where to look instead of waiting.
    if (p.json) printJson(p, { InvokeId: invokeId });
    else p.out.write(`${invokeId}\n`);
    if (later && !p.json) p.err.write(`its runs: openassist results ${invokeId} --history\n`);
    return 0;
  }
  const view = await followUntilDone(session, invokeId, flags);
  if (p.json) {
    printJson(p, {
      InvokeId: invokeId,
      Results: view.rows().map((run) => ({
        InstanceId: run.instanceId,
        InvocationStatus: run.status,
        ExitCode: run.exitCode,
        ErrorCode: run.errorCode,
        ErrorInfo: run.errorInfo,
        Output: run.output,
      })),
    });
  } else {
    printSummary(p, view, invokeId);
  }
  return view.allSucceeded ? 0 : 1;
}

function invokeOptions(command: Command): Command {
  return command
    .option('--instance <id...>', 'instance id(s)')
    .option('--tag <key=value...>', 'instances with these tags')
    .option('--timeout <seconds>', 'timeout in seconds')
    .option('--username <name>', 'run as this user')
    .option('--workdir <dir>', 'working directory')
    .option('--param <name=value...>', 'custom parameter values')
    .option('--container-id <id>', 'run inside this container')
    .option('--container-name <name>', 'run inside the container of this name')
    .option('--frequency <expr>', "run on a schedule: rate(5m), at(…) or a cron such as '0 */20 * * * ?'")
    .option('--repeat-mode <mode>', 'Once (default), Period, NextRebootOnly or EveryReboot')
    .option('--max-concurrency <n|n%>', 'a rolling run: at most this many instances (or % of them) at once')
    .option('--max-errors <n|n%>', 'with --max-concurrency: start no more once more runs than this failed')
    .option('--no-wait', 'print the InvokeId and return');
}

/** `openassist run`: RunCommand, then the live view. `openassist invoke`: the same for a saved command. */
export function registerRun(program: Command): void {
  scriptOptions(
    invokeOptions(
      verb(
        program,
        'run',
        'run a script on instances, stream its output, exit 0 only if all succeed',
        "openassist run --instance mi-… --script 'uptime'\n  openassist run --tag env=prod --file deploy.sh --param version=1.4 --json\n  openassist run --tag env=prod --script 'systemctl restart app' --max-concurrency 10% --max-errors 2",
      ),
    ),
  ).action(async (flags: RunFlags) => {
    const session = await openSession(flags);
    const InvokeId = await start(session, 'RunCommand', {
      ...invokeParams(flags),
      Type: flags.type,
      CommandContent: await scriptOf(flags),
      ContentEncoding: 'PlainText',
      EnableParameter: flags.param?.length ? true : undefined,
    });
    process.exitCode = await waitAndReport(session, InvokeId, flags);
  });
  invokeOptions(
    verb(
      program,
      'invoke',
      'run a saved command on instances, stream its output',
      'openassist invoke c-… --instance mi-… --param service=nginx',
    ),
  )
    .argument('<command-id>')
    .action(async (commandId: string, flags: InvokeFlags) => {
      const session = await openSession(flags);
      const InvokeId = await start(session, 'InvokeCommand', {
        ...invokeParams(flags),
        CommandId: commandId,
      });
      process.exitCode = await waitAndReport(session, InvokeId, flags);
    });
}
