import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import { randomFile, rssMiB, sha256Of } from '../test/helpers/big-files.js';
import { cli } from '../test/helpers/cli-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { withLoopbackSshd } from './peers.js';
import { apiOf, summary } from './stats.js';

const run = promisify(execFile);

export interface FileTransferResult {
  readonly smallFile: {
    readonly runs: number;
    /** SendFile of 4 KiB through the API until DescribeSendFileResults shows Success. */
    readonly sendFileMs: { p50: number; p99: number; max: number };
    readonly scpMs?: { p50: number; p99: number; max: number };
  };
  readonly largeFile: {
    readonly mebibytes: number;
    /** `openassist send-file` from start to exit (upload, download, sha256, every result in). */
    readonly sendFileSeconds: number;
    readonly sendFileMiBPerSecond: number;
    /** Peak resident memory above what each process held before the send (no warm-up send). */
    readonly serverRssGrowthMiB: number;
    readonly agentRssGrowthMiB: number;
    readonly scpSeconds?: number;
  };
}

/** The peak resident memory of some processes, sampled every 20 ms while `during` runs. */
async function peakRss<T>(pids: readonly number[], during: () => Promise<T>): Promise<[T, number[]]> {
  const peaks = await Promise.all(pids.map(rssMiB));
  let running = true;
  const sampling = (async () => {
    while (running) {
      for (const [i, pid] of pids.entries()) peaks[i] = Math.max(peaks[i] ?? 0, await rssMiB(pid));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return [await during(), peaks];
  } finally {
    running = false;
    await sampling;
  }
}

const seconds = (startedMs: number): number => Math.round((performance.now() - startedMs) / 10) / 100;

/**
 * Files to one local agent, and the same files with scp over a loopback sshd: a 4 KiB file through
 * Alibaba's SendFile (called, then polled until Success), and a large one through `openassist
 * send-file` (the upload extension: parts to the server, the agent's download, its sha256 check),
 * with the server's and the agent's peak memory growth during it.
 */
export async function measureFileTransfer(
  server: ServerProcess,
  quick: boolean,
): Promise<FileTransferResult> {
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: '1' });
  const agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: String(activation.ActivationId),
    activationCode: String(activation.ActivationCode),
  });
  const dir = await mkdtemp(join(tmpdir(), 'openassist-bench-files-'));
  try {
    const target = join(dir, 'target');
    const smallRuns = quick ? 10 : 50;
    const small = Buffer.alloc(4096, 'x').toString('base64');
    const sendFileMs: number[] = [];
    for (let i = 0; i < smallRuns; i++) {
      const startedMs = performance.now();
      const sent = await call('SendFile', {
        Name: `small-${i}`,
        Content: small,
        ContentType: 'Base64',
        TargetDir: target,
        'InstanceId.1': agent.instanceId,
      });
      // Polled a millisecond after each answer, as the invoke latency row does: a backoff would be measured.
      const deadline = Date.now() + 30_000;
      for (;;) {
        const found = await call('DescribeSendFileResults', { InvokeId: String(sent.InvokeId) });
        const status = (found.Invocations as { Invocation: { InvocationStatus: string }[] }).Invocation[0]
          ?.InvocationStatus;
        if (status === 'Success') break;
        if (status === 'Failed' || status === 'PartialFailed') throw new Error(`small file ${status}`);
        if (Date.now() > deadline) throw new Error('small file: no Success within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      sendFileMs.push(performance.now() - startedMs);
    }

    const mebibytes = quick ? 32 : 100;
    const bigPath = join(dir, 'big.bin');
    const sha256 = await randomFile(bigPath, mebibytes);
    const env = {
      OPENASSIST_ENDPOINT: server.url,
      OPENASSIST_ACCESS_KEY_ID: server.accessKeyId,
      OPENASSIST_ACCESS_KEY_SECRET: server.accessKeySecret,
      OPENASSIST_REGION: 'cn-hangzhou',
    };
    const pids = [server.child.pid ?? 0, agent.child.pid ?? 0];
    const before = await Promise.all(pids.map(rssMiB));
    const startedMs = performance.now();
    const [sent, peaks] = await peakRss(pids, () =>
      cli(['send-file', bigPath, '--instance', agent.instanceId, '--target-dir', target], { env }),
    );
    const sendFileSeconds = seconds(startedMs);
    if (sent.code !== 0) throw new Error(`send-file: ${sent.stderr}`);
    if ((await sha256Of(join(target, 'big.bin'))) !== sha256) throw new Error('send-file: wrong sha256');
    const growth = peaks.map((peak, i) => Math.round((peak - (before[i] ?? 0)) * 10) / 10);

    const peer = await withLoopbackSshd(async ({ sshConfig }) => {
      const scpTarget = join(dir, 'scp');
      await run('mkdir', ['-p', scpTarget]);
      const smallPath = join(dir, 'small.txt');
      await writeFile(smallPath, Buffer.alloc(4096, 'x'));
      const scpMs: number[] = [];
      for (let i = 0; i < smallRuns; i++) {
        const started = performance.now();
        await run('scp', ['-q', '-F', sshConfig, smallPath, `bench:${join(scpTarget, `small-${i}`)}`]);
        scpMs.push(performance.now() - started);
      }
      const started = performance.now();
      await run('scp', ['-q', '-F', sshConfig, bigPath, `bench:${join(scpTarget, 'big.bin')}`]);
      return { scpMs: summary(scpMs), scpSeconds: seconds(started) };
    });

    return {
      smallFile: { runs: smallRuns, sendFileMs: summary(sendFileMs), ...(peer && { scpMs: peer.scpMs }) },
      largeFile: {
        mebibytes,
        sendFileSeconds,
        sendFileMiBPerSecond: Math.round((mebibytes / sendFileSeconds) * 10) / 10,
        serverRssGrowthMiB: growth[0] ?? Number.NaN,
        agentRssGrowthMiB: growth[1] ?? Number.NaN,
        ...(peer && { scpSeconds: peer.scpSeconds }),
      },
    };
  } finally {
    await agent.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The bench's lines for the file rows. */
export function describeFileTransfer(result: FileTransferResult): string[] {
  const { smallFile, largeFile } = result;
  const ratio = (peer: number | undefined, ours: number, unit: string) =>
    peer === undefined
      ? ''
      : ` (scp ${peer} ${unit}: OpenAssist ${
          peer >= ours ? `${(peer / ours).toFixed(1)}× faster` : `${(ours / peer).toFixed(1)}× slower`
        })`;
  return [
    `SendFile 4 KiB to one agent (${smallFile.runs} runs): Success visible p50 ${smallFile.sendFileMs.p50} ms, p99 ${smallFile.sendFileMs.p99} ms${ratio(smallFile.scpMs?.p50, smallFile.sendFileMs.p50, 'ms')}`,
    `send-file ${largeFile.mebibytes} MiB to one agent: ${largeFile.sendFileSeconds} s, ${largeFile.sendFileMiBPerSecond} MiB/s${ratio(largeFile.scpSeconds, largeFile.sendFileSeconds, 's')}; RSS growth server ${largeFile.serverRssGrowthMiB} MiB, agent ${largeFile.agentRssGrowthMiB} MiB`,
  ];
}
