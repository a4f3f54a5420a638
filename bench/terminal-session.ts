import { startAgentProcess } from '../test/helpers/agent-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import {
  type ClientTerminal,
  localShellTerminal,
  sessionTerminal,
  sshTerminal,
  within,
} from './client-terminal.js';
import { withLoopbackSshd } from './peers.js';
import { Ecs, type EcsClient, sdkOf } from './sdk.js';
import { apiOf, summary } from './stats.js';

type Summary = ReturnType<typeof summary>;

export interface TerminalSessionResult {
  readonly sessions: number;
  /** StartTerminalSession called (SDK) → first byte of the login shell's prompt on the client socket. */
  readonly firstPromptMs: Summary;
  /** Of that: the API's answer, and the socket's upgrade after it. */
  readonly apiAnsweredMs: Summary;
  readonly socketOpenedMs: Summary;
  /** The agent's shell launch (`script`, login shell) spawned here directly: spawn → first byte. */
  readonly localShellMs: Summary;
  readonly keystrokes: number;
  /** One printable character typed in an open session → its echo on the client socket. */
  readonly echoMs: Summary;
  /** The same over `ssh -tt` to a loopback sshd: spawn → first byte, byte written → echo. */
  readonly ssh?: { readonly firstPromptMs: Summary; readonly echoMs: Summary };
}

/** Keystrokes typed before the measured ones: the first ones wake the processes on the way. */
const warmUpKeystrokes = 5;
const letters = 'abcdefghijklmnopqrstuvwxyz';

/** Types `exit` and waits for the terminal to close. */
async function leave(terminal: ClientTerminal): Promise<void> {
  terminal.type('exit\r');
  await within('the shell to end', terminal.closed);
}

/** From `open` (the clock starts before it) to the first output byte; then the shell is left. */
async function timeToFirstByte(open: () => ClientTerminal | Promise<ClientTerminal>): Promise<number> {
  const startedMs = performance.now();
  const terminal = await open();
  try {
    const firstByteAt = await within('the first byte', terminal.firstByteAt);
    await leave(terminal);
    return firstByteAt - startedMs;
  } catch (error) {
    terminal.kill();
    throw error;
  }
}

/**
 * Echo round trips in an open shell: a letter typed → the output that shows it. The letters go to
 * a `cat` in the foreground, so the pty's line discipline echoes them (no prompt or line editor
 * redraw in between), and each is erased after its echo (DEL, echoed as a backspace) so the line
 * stays empty; Ctrl-D ends the `cat`.
 */
async function echoRoundTrips(terminal: ClientTerminal, keystrokes: number): Promise<number[]> {
  // The output of the command, not its echo (`rea""dy`): the shell has handed the terminal to cat.
  const ready = terminal.next('ready');
  terminal.type('echo rea""dy; cat >/dev/null\r');
  await within('the shell to answer', ready);
  const roundTrips: number[] = [];
  for (let i = 0; i < warmUpKeystrokes + keystrokes; i++) {
    const letter = letters[i % letters.length] ?? 'a';
    const echoed = terminal.next(letter);
    const typedMs = performance.now();
    terminal.type(letter);
    const echoedMs = await within('the echo', echoed);
    if (i >= warmUpKeystrokes) roundTrips.push(echoedMs - typedMs);
    const erased = terminal.next('\b');
    terminal.type('\x7f');
    await within('the erase', erased);
  }
  terminal.type('\x04');
  return roundTrips;
}

/** Opens a session through the SDK: the moments it was answered and upgraded, and its terminal. */
async function startSession(sdk: EcsClient, instanceId: string) {
  const startedMs = performance.now();
  const { body } = await sdk.startTerminalSession(
    new Ecs.StartTerminalSessionRequest({ regionId: 'cn-hangzhou', instanceId: [instanceId] }),
  );
  const answeredMs = performance.now();
  const { terminal, opened } = sessionTerminal(`${body?.webSocketUrl}?token=${body?.securityToken}`);
  const openedMs = await within('the session socket', opened);
  return { terminal, startedMs, answeredMs, openedMs };
}

/**
 * Terminal sessions on one local agent, as a client of the official SDK sees them: how soon the
 * login shell's prompt arrives after StartTerminalSession, and how soon a keystroke's echo, against
 * `ssh -tt` to a loopback sshd (no connection sharing) doing the same.
 */
export async function measureTerminalSessions(
  server: ServerProcess,
  quick: boolean,
): Promise<TerminalSessionResult> {
  const sessions = quick ? 5 : 20;
  const keystrokes = quick ? 100 : 500;
  const activation = await apiOf(server)('CreateActivation', { InstanceCount: '1' });
  const agent = await startAgentProcess({
    serverUrl: server.url,
    activationId: String(activation.ActivationId),
    activationCode: String(activation.ActivationCode),
  });
  try {
    const sdk = sdkOf(server);
    const firstPrompt: number[] = [];
    const answered: number[] = [];
    const socketOpened: number[] = [];
    for (let i = 0; i < sessions; i++) {
      const { terminal, startedMs, answeredMs, openedMs } = await startSession(sdk, agent.instanceId);
      firstPrompt.push((await within('the prompt', terminal.firstByteAt)) - startedMs);
      answered.push(answeredMs - startedMs);
      socketOpened.push(openedMs - answeredMs);
      await leave(terminal);
    }
    const localShell: number[] = [];
    for (let i = 0; i < sessions; i++) localShell.push(await timeToFirstByte(localShellTerminal));
    const { terminal } = await startSession(sdk, agent.instanceId);
    const echo = await echoRoundTrips(terminal, keystrokes);
    await leave(terminal);

    const ssh = await withLoopbackSshd(async ({ sshConfig }) => {
      const sshPrompt: number[] = [];
      for (let i = 0; i < sessions; i++) sshPrompt.push(await timeToFirstByte(() => sshTerminal(sshConfig)));
      const terminal = sshTerminal(sshConfig);
      const sshEcho = await echoRoundTrips(terminal, keystrokes);
      await leave(terminal);
      return { firstPromptMs: summary(sshPrompt), echoMs: summary(sshEcho) };
    });
    return {
      sessions,
      firstPromptMs: summary(firstPrompt),
      apiAnsweredMs: summary(answered),
      socketOpenedMs: summary(socketOpened),
      localShellMs: summary(localShell),
      keystrokes,
      echoMs: summary(echo),
      ...(ssh && { ssh }),
    };
  } finally {
    await agent.stop();
  }
}

/** `(ssh -tt p50 …, p99 …: OpenAssist n× faster at the median)`, or nothing without ssh. */
function againstSsh(ours: Summary, ssh: Summary | undefined): string {
  if (!ssh) return '';
  const ratio =
    ssh.p50 >= ours.p50
      ? `${(ssh.p50 / ours.p50).toFixed(1)}× faster`
      : `${(ours.p50 / ssh.p50).toFixed(1)}× slower`;
  return ` (ssh -tt p50 ${ssh.p50} ms, p99 ${ssh.p99} ms: OpenAssist ${ratio} at the median)`;
}

/** The bench's lines for the terminal session rows. */
export function describeTerminalSessions(result: TerminalSessionResult): string[] {
  const { firstPromptMs, apiAnsweredMs, socketOpenedMs, localShellMs, echoMs, ssh } = result;
  return [
    `StartTerminalSession → first prompt byte (${result.sessions} sessions): p50 ${firstPromptMs.p50} ms, p99 ${firstPromptMs.p99} ms${againstSsh(firstPromptMs, ssh?.firstPromptMs)}; API answered p50 ${apiAnsweredMs.p50} ms, socket open +${socketOpenedMs.p50} ms; the shell alone under script p50 ${localShellMs.p50} ms`,
    `keystroke echo round trip in a session (${result.keystrokes} keystrokes): p50 ${echoMs.p50} ms, p99 ${echoMs.p99} ms${againstSsh(echoMs, ssh?.echoMs)}`,
  ];
}
