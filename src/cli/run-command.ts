import { callApi } from '../client/api.js';
import { instanceStatuses, isFinal } from '../domain/invocation-status.js';
import { type ClientConfig, type ClientFlags, loadClientConfig } from './client-config.js';

export interface RunFlags extends ClientFlags {
  instance: string[];
  script: string;
  type?: string | undefined;
  timeout?: string | undefined;
  username?: string | undefined;
  workdir?: string | undefined;
  frequency?: string | undefined;
  repeatMode?: string | undefined;
}

interface Result {
  InstanceId: string;
  InvocationStatus: string;
  Output: string;
  ExitCode?: number;
  ErrorCode?: string;
  ErrorInfo?: string;
}

const finalStatuses: ReadonlySet<string> = new Set(instanceStatuses.filter(isFinal));

async function call(config: ClientConfig, action: string, params: Record<string, string>) {
  const response = await callApi(
    config,
    action,
    new Map(Object.entries({ RegionId: config.region, ...params })),
  );
  if (response.status >= 400) {
    throw new Error(`${action} failed: ${String(response.body.Code)}: ${String(response.body.Message)}`);
  }
  return response.body;
}

/**
 * `openassist run`: RunCommand on the given instances, wait for every one to finish, print each
 * output; exit status 0 only when every instance succeeded. (The full live view comes with the CLI issue.)
 */
export async function runCommand(
  flags: RunFlags,
  env: Readonly<Record<string, string | undefined>>,
): Promise<number> {
  const config = loadClientConfig(flags, env);
  const params: Record<string, string> = {
    Type: flags.type ?? 'RunShellScript',
    CommandContent: flags.script,
    ContentEncoding: 'PlainText',
    ...(flags.timeout && { Timeout: flags.timeout }),
    ...(flags.username && { Username: flags.username }),
    ...(flags.workdir && { WorkingDir: flags.workdir }),
    ...(flags.frequency && { Frequency: flags.frequency }),
    ...(flags.repeatMode && { RepeatMode: flags.repeatMode }),
  };
  flags.instance.forEach((id, index) => {
    params[`InstanceId.${index + 1}`] = id;
  });
  const { InvokeId: invokeId } = (await call(config, 'RunCommand', params)) as { InvokeId: string };
  if (flags.frequency || (flags.repeatMode && flags.repeatMode !== 'Once')) {
    // A schedule or a reboot task runs later, maybe many times: say where to look instead of waiting.
    process.stdout.write(
      `${invokeId} scheduled; its runs: openassist call DescribeInvocationResults --InvokeId ${invokeId} --IncludeHistory true\n`,
    );
    return 0;
  }
  const deadline = Date.now() + (Number(flags.timeout ?? 60) + 120) * 1000;
  for (let delayMs = 50; ; delayMs = Math.min(delayMs * 2, 500)) {
    const body = (await call(config, 'DescribeInvocationResults', {
      InvokeId: invokeId,
      ContentEncoding: 'PlainText',
      PageSize: '50',
    })) as { Invocation: { InvocationResults: { InvocationResult: Result[] } } };
    const results = body.Invocation.InvocationResults.InvocationResult;
    if (results.length > 0 && results.every((result) => finalStatuses.has(result.InvocationStatus))) {
      for (const result of results) {
        const prefix = results.length > 1 ? `[${result.InstanceId}] ` : '';
        if (result.Output)
          process.stdout.write(result.Output.replace(/^/gm, prefix).replace(new RegExp(`${prefix}$`), ''));
        if (result.InvocationStatus !== 'Success') {
          const why = [result.ErrorCode, result.ErrorInfo].filter(Boolean).join(': ');
          process.stderr.write(
            `${prefix}${result.InvocationStatus}${result.ExitCode !== undefined ? ` (exit ${result.ExitCode})` : ''}${why ? ` ${why}` : ''}\n`,
          );
        }
      }
      return results.every((result) => result.InvocationStatus === 'Success') ? 0 : 1;
    }
    if (Date.now() > deadline) throw new Error(`${invokeId} did not finish in time`);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
}
