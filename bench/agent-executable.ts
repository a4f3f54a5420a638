import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { agentExecutableName } from '../src/agent/executable/build.js';
import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { type LatencySummary, measureInvokeLatency } from './invoke-latency.js';
import { rssMiB } from './proc.js';
import type { Verdict } from './report.js';
import { apiOf } from './stats.js';

/** The bound on the executable's idle memory (Alibaba's agent restarts itself above 50 MB idle). */
export const idleRssTargetMiB = 45;

/** `npm run build` writes the executable here (bench runs from dist/bench/). */
export const builtExecutable = new URL(`../../dist/agent/${agentExecutableName()}`, import.meta.url).pathname;

export interface AgentExecutableFigures {
  readonly idleMs: number;
  readonly idleRssMiB: { executable: number; repositoryAgent: number; bareNode: number };
  readonly firstInstructionMs: {
    executable: { p50: number; p99: number };
    repositoryAgent: { p50: number; p99: number };
  };
  readonly runs: number;
  readonly verdicts: Verdict[];
}

const round1 = (value: number) => Math.round(value * 10) / 10;

/**
 * The agent's single executable against `openassist agent` from the repository and bare node
 * (`node -e 'setInterval(()=>{},1e9)'`), in one run on one server: resident memory after `idleMs`
 * connected with nothing to do, and the first-instruction latency of `echo hi`.
 */
export async function measureAgentExecutable(
  server: ServerProcess,
  quick: boolean,
  executable = builtExecutable,
): Promise<AgentExecutableFigures> {
  if (!existsSync(executable)) throw new Error(`${executable} is missing: run npm run build first`);
  const idleMs = quick ? 3_000 : 10_000;
  const runs = quick ? 50 : 200;
  const call = apiOf(server);
  const activation = await call('CreateActivation', { InstanceCount: '2' });
  const registration = {
    serverUrl: server.url,
    activationId: String(activation.ActivationId),
    activationCode: String(activation.ActivationCode),
  };
  const bare = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], { stdio: 'ignore' });
  const agent = await startAgentProcess(registration);
  const built = await startAgentProcess({ ...registration, executable });
  let idleRssMiB: AgentExecutableFigures['idleRssMiB'];
  try {
    // Idle: connected, heartbeating, nothing to run; memory measured as a fleet's machines would see it.
    await new Promise((resolve) => setTimeout(resolve, idleMs));
    idleRssMiB = {
      executable: round1(await rssMiB(built.child.pid ?? 0)),
      repositoryAgent: round1(await rssMiB(agent.child.pid ?? 0)),
      bareNode: round1(await rssMiB(bare.pid ?? 0)),
    };
  } finally {
    bare.kill();
    await agent.stop();
    await built.stop();
  }
  // In the order executable, repository, repository, executable: drift in the machine's load
  // (other processes on its two cores) weighs on both alike. p50: the mean of the halves' medians.
  const executableRuns: LatencySummary[] = [];
  const repositoryRuns: LatencySummary[] = [];
  for (const ofExecutable of [true, false, false, true]) {
    const options = ofExecutable ? { agentExecutable: executable } : {};
    (ofExecutable ? executableRuns : repositoryRuns).push(
      await measureInvokeLatency(server, runs / 2, options),
    );
  }
  const first = (halves: LatencySummary[]) => {
    const values = halves.map((half) => half.toFirstInstructionMs ?? { p50: Number.NaN, p99: Number.NaN });
    return {
      p50: Math.round((values.reduce((sum, v) => sum + v.p50, 0) / values.length) * 100) / 100,
      p99: Math.max(...values.map((v) => v.p99)),
    };
  };
  const firstInstructionMs = { executable: first(executableRuns), repositoryAgent: first(repositoryRuns) };
  const verdicts: Verdict[] = [
    {
      target: `agent executable idle ≤ ${idleRssTargetMiB} MiB RSS`,
      measured: `${idleRssMiB.executable} MiB (bare node ${idleRssMiB.bareNode}, openassist agent ${idleRssMiB.repositoryAgent})`,
      pass: idleRssMiB.executable <= idleRssTargetMiB,
    },
    {
      target: 'agent executable first instruction p50 ≤ openassist agent + 1 ms',
      measured: `${firstInstructionMs.executable.p50} ms vs ${firstInstructionMs.repositoryAgent.p50} ms`,
      pass: firstInstructionMs.executable.p50 <= firstInstructionMs.repositoryAgent.p50 + 1,
    },
  ];
  return { idleMs, idleRssMiB, firstInstructionMs, runs, verdicts };
}

/** The lines `npm run bench` prints for these figures. */
export function describeAgentExecutable(figures: AgentExecutableFigures): string {
  const { executable, repositoryAgent, bareNode } = figures.idleRssMiB;
  const first = figures.firstInstructionMs;
  return [
    `agent executable idle (${figures.idleMs / 1000} s, connected): ${executable} MiB RSS; openassist agent ${repositoryAgent} MiB; bare node ${bareNode} MiB (executable − bare node: ${round1(executable - bareNode)} MiB; target ${idleRssTargetMiB} MiB)`,
    `agent executable echo hi (${figures.runs} runs): first instruction p50 ${first.executable.p50} ms, p99 ${first.executable.p99} ms; openassist agent p50 ${first.repositoryAgent.p50} ms, p99 ${first.repositoryAgent.p99} ms`,
  ].join('\n');
}
