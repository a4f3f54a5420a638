import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { type UploadSource, uploadFile } from '../../client/file-upload.js';
import { ConfigError } from '../../config.js';
import { isFinalStatus } from '../invocation-view.js';
import { printJson } from '../presenter.js';
import { allPages, listParams, openSession, type Session, type SessionFlags, verb } from '../session.js';
import { transferProgress } from '../transfer-progress.js';

interface SendFileFlags extends SessionFlags {
  instance?: string[];
  tag?: string[];
  targetDir: string;
  name?: string;
  owner?: string;
  group?: string;
  mode?: string;
  overwrite?: boolean;
  timeout?: string;
  wait: boolean;
}

/** SendFile's own limit on Content (Base64): a file that fits is sent in the call itself. */
const contentLimitBytes = 32 * 1024;
const base64Length = (bytes: number): number => 4 * Math.ceil(bytes / 3);
const pollMs = 500;
/** Without --timeout, an uploaded file gets SendFile's 60 s plus a second per MiB to download it. */
const uploadTimeoutSeconds = (sizeBytes: number): number =>
  Math.min(86_400, 60 + Math.ceil(sizeBytes / (1024 * 1024)));

interface InvokeInstance {
  InstanceId: string;
  InvocationStatus: string;
  ErrorCode: string;
  ErrorInfo: string;
}

/** `--instance` as given, or the instances carrying every `--tag` (SendFile itself takes ids only). */
async function instanceIds(session: Session, flags: SendFileFlags): Promise<string[]> {
  if (flags.instance?.length) return flags.instance;
  if (!flags.tag?.length) throw new ConfigError('name instances with --instance ID or --tag KEY=VALUE');
  const tags: Record<string, string> = {};
  flags.tag.forEach((pair, index) => {
    const eq = pair.indexOf('=');
    tags[`Tag.${index + 1}.Key`] = eq < 0 ? pair : pair.slice(0, eq);
    if (eq >= 0) tags[`Tag.${index + 1}.Value`] = pair.slice(eq + 1);
  });
  const instances = await allPages(async (NextToken) => {
    const body = await session.call<{ Instances: { InstanceId: string }[]; NextToken?: string }>(
      'DescribeManagedInstances',
      { MaxResults: 50, NextToken, ...tags },
    );
    return { items: body.Instances, nextToken: body.NextToken };
  });
  if (instances.length === 0) throw new ConfigError(`no instance has the tags ${flags.tag.join(', ')}`);
  return instances.map((instance) => instance.InstanceId);
}

/** The file's SHA-256, read once as a stream (the file is never held whole). */
async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Uploads a file too large for Content through the upload extension; returns its UploadId. */
async function upload(session: Session, path: string, sizeBytes: number): Promise<string> {
  const file = await open(path, 'r');
  try {
    const sha256 = await sha256Of(path);
    const source: UploadSource = {
      sizeBytes,
      sha256,
      async read(offset, length) {
        const bytes = new Uint8Array(length);
        const { bytesRead } = await file.read(bytes, 0, length, offset);
        if (bytesRead !== length) throw new ConfigError(`${path} changed while it was being sent`);
        return bytes;
      },
    };
    const progress = transferProgress(process.stderr, sizeBytes);
    try {
      // The same file again resumes its upload: a dropped send, run a second time, goes on.
      return await uploadFile(session.config, source, {
        regionId: session.config.region,
        clientToken: `send-file-${sha256.slice(0, 40)}-${sizeBytes}`,
        onProgress: (received) => progress.update(received),
      });
    } finally {
      progress.done();
    }
  } finally {
    await file.close();
  }
}

/** Polls the sent file's results until every instance's run has ended. */
async function results(session: Session, invokeId: string): Promise<InvokeInstance[]> {
  for (;;) {
    const body = await session.call<{
      Invocations: { Invocation: { InvokeInstances: { InvokeInstance: InvokeInstance[] } }[] };
    }>('DescribeSendFileResults', { InvokeId: invokeId });
    const runs = body.Invocations.Invocation[0]?.InvokeInstances.InvokeInstance ?? [];
    if (runs.length > 0 && runs.every((run) => isFinalStatus(run.InvocationStatus))) return runs;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

function report(session: Session, invokeId: string, runs: readonly InvokeInstance[]): number {
  const { p } = session;
  const succeeded = runs.filter((run) => run.InvocationStatus === 'Success').length;
  if (p.json) {
    printJson(p, { InvokeId: invokeId, Results: runs });
  } else {
    for (const run of runs) {
      const why = [run.ErrorCode, run.ErrorInfo].filter(Boolean).join(': ');
      p.err.write(`${run.InstanceId} ${run.InvocationStatus}${why ? ` ${why}` : ''}\n`);
    }
    const line = `${invokeId}: ${succeeded}/${runs.length} succeeded`;
    p.err.write(`${succeeded === runs.length ? p.colors.green(line) : p.colors.red(line)}\n`);
  }
  return succeeded === runs.length ? 0 : 1;
}

/** `openassist send-file PATH`: SendFile, through the upload extension when the file is over 32 KB. */
export function registerSendFile(program: Command): void {
  verb(
    program,
    'send-file',
    'send a file of any size to instances, exit 0 only if every instance has it',
    'openassist send-file ./app.tar.gz --instance mi-… --target-dir /opt/app --mode 0640 --overwrite',
  )
    .argument('<path>')
    .option('--instance <id...>', 'instance id(s)')
    .option('--tag <key=value...>', 'instances with these tags')
    .requiredOption('--target-dir <dir>', 'directory on the instances (made when missing)')
    .option('--name <name>', 'file name there (default: the name of PATH)')
    .option('--owner <user>', 'owner of the file (default root)')
    .option('--group <group>', 'group of the file (default root)')
    .option('--mode <octal>', 'permission bits (default 0644)')
    .option('--overwrite', 'replace a file of that name')
    .option(
      '--timeout <seconds>',
      'time each instance has to place the file (default 60, plus 1 per MiB uploaded)',
    )
    .option('--no-wait', 'print the InvokeId and return')
    .action(async (path: string, flags: SendFileFlags) => {
      const session = await openSession(flags);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) throw new ConfigError(`${path} is not a file`);
      const ids = await instanceIds(session, flags);
      const content =
        base64Length(info.size) <= contentLimitBytes
          ? { Content: (await readFile(path)).toString('base64'), ContentType: 'Base64' }
          : {
              UploadId: await upload(session, path, info.size),
              Timeout: flags.timeout ?? uploadTimeoutSeconds(info.size),
            };
      const { InvokeId } = await session.call<{ InvokeId: string }>('SendFile', {
        ...listParams('InstanceId', ids),
        Name: flags.name ?? basename(path),
        TargetDir: flags.targetDir,
        FileOwner: flags.owner,
        FileGroup: flags.group,
        FileMode: flags.mode,
        Overwrite: flags.overwrite,
        Timeout: flags.timeout,
        ...content,
      });
      if (!flags.wait) {
        if (session.p.json) printJson(session.p, { InvokeId });
        else session.p.out.write(`${InvokeId}\n`);
        return;
      }
      process.exitCode = report(session, InvokeId, await results(session, InvokeId));
    });
}
