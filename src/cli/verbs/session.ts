import type { Command } from 'commander';
import { printJson, printTable, statusText } from '../presenter.js';
import { openSession, type Session, type SessionFlags, verb } from '../session.js';
import { shellQuote } from '../session-input.js';
import { endText, exitStatusOf, signalStatus, startTerminalSession } from '../start-session.js';
import { attachTerminal, type Detached } from '../terminal-attach.js';

interface ShellFlags extends SessionFlags {
  user?: string;
}

interface ListFlags extends SessionFlags {
  instance?: string;
  max?: string;
}

interface TerminalSessionRow {
  SessionId: string;
  CreationTime: string;
  ClientIP?: string;
  Username?: string;
  PortNumber?: number;
  TargetServer?: string;
  CommandLine?: string;
  ExitCode?: number;
  Connections: {
    Connection: { InstanceId: string; Status: string; EndTime?: string; ClosedReason?: string }[];
  };
}

/** The exit status of `openassist session`: the shell's own; 255 when the session ended otherwise, as ssh. */
function statusOf(detached: Detached, sessionId: string): number {
  if (detached.signal) return signalStatus(detached.signal);
  const status = exitStatusOf(detached.end);
  if (status !== undefined) return status;
  const how = detached.dropped ? `session ${sessionId} closed (~.)` : endText(sessionId, detached.end);
  // On a terminal the remote prompt may hold the line: start a new one.
  const newLine = process.stdout.isTTY ? '\n' : '';
  process.stderr.write(`${newLine}openassist: ${how}\n`);
  return 255;
}

/** `openassist session mi-… [-- CMD ARGS…]`: a shell (or one command) in this terminal until it ends. */
async function runShell(instanceId: string, command: readonly string[], flags: ShellFlags): Promise<void> {
  const api = await openSession(flags);
  const { sessionId, session } = await startTerminalSession(api, instanceId, {
    Username: flags.user,
    CommandLine: command.length > 0 ? shellQuote(command) : undefined,
  });
  const status = statusOf(await attachTerminal(session), sessionId);
  // Exits here: the terminal's stdin would keep the process waiting; what was written goes first.
  process.stdout.write('', () => process.exit(status));
}

async function listSessions(api: Session, flags: ListFlags): Promise<void> {
  const max = Math.max(1, Number(flags.max ?? 50) || 50);
  const sessions: TerminalSessionRow[] = [];
  let NextToken: string | undefined;
  do {
    const body = await api.call<{ Sessions: { Session: TerminalSessionRow[] }; NextToken?: string }>(
      'DescribeTerminalSessions',
      { InstanceId: flags.instance, MaxResults: Math.min(100, max - sessions.length), NextToken },
    );
    sessions.push(...body.Sessions.Session);
    NextToken = body.NextToken;
  } while (NextToken && sessions.length < max);
  if (api.p.json) return printJson(api.p, sessions);
  printTable(
    api.p,
    ['Session', 'Instance', 'Status', 'User', 'Command / port', 'Started', 'Ended', 'Reason', 'Exit'],
    sessions.map((row) => {
      const connection = row.Connections.Connection[0];
      const target = row.PortNumber
        ? `${row.TargetServer || 'localhost'}:${row.PortNumber}`
        : row.CommandLine;
      return [
        row.SessionId,
        connection?.InstanceId,
        connection && statusText(api.p, connection.Status),
        // A shell without Username runs as root; a forwarded port runs as nobody in particular.
        row.PortNumber ? '' : row.Username || 'root',
        target,
        row.CreationTime,
        connection?.EndTime,
        connection?.ClosedReason,
        row.ExitCode,
      ];
    }),
  );
}

interface LogFlags extends SessionFlags {
  input?: boolean;
}

/** 1 MiB: the largest page DescribeTerminalSessionRecording gives. */
const recordingPageBytes = 1024 * 1024;

/** The recording's bytes, page after page, to stdout as they were shown (or typed, with --input). */
async function printRecording(api: Session, sessionId: string, flags: LogFlags): Promise<void> {
  let offset = 0;
  for (;;) {
    const page = await api.call<{ Data: string; NextOffset: number; Complete: boolean }>(
      'DescribeTerminalSessionRecording',
      {
        SessionId: sessionId,
        Stream: flags.input ? 'Input' : undefined,
        Offset: offset,
        MaxBytes: recordingPageBytes,
      },
    );
    const bytes = Buffer.from(page.Data, 'base64');
    if (bytes.byteLength > 0) await new Promise((written) => process.stdout.write(bytes, written));
    // A live session's recording grows: print what there is now, and stop.
    if (page.Complete || page.NextOffset <= offset) return;
    offset = page.NextOffset;
  }
}

/**
 * `openassist session`: a shell on an instance, and the sessions' list, recordings and end. The
 * first argument chooses: `list`, `log`, `end`, or an instance id. The options of `session` itself
 * are read by it wherever they stand, so each subcommand takes them from optsWithGlobals().
 */
export function registerSession(program: Command): void {
  const session = verb(
    program,
    'session',
    'a shell on an instance in this terminal (~. drops it), or one command: -- CMD ARGS',
    'openassist session mi-…\n  openassist session mi-… --user deploy -- journalctl -fu nginx\n  openassist session list --instance mi-…\n  openassist session log s-…',
  )
    .argument('<instance-id>', 'the instance')
    .argument('[command...]', 'a command to run instead of the login shell (after --)')
    .option('--user <name>', 'the user to run as (default root)')
    .action((instanceId: string, command: string[], flags: ShellFlags) =>
      runShell(instanceId, command, flags),
    );
  verb(session, 'list', 'list terminal sessions, newest first', 'openassist session list --instance mi-…')
    .option('--instance <id>', 'only the sessions of this instance')
    .option('--max <n>', 'at most this many (default 50)')
    .action(async (_flags: ListFlags, command: Command) => {
      const flags = command.optsWithGlobals<ListFlags>();
      await listSessions(await openSession(flags), flags);
    });
  verb(
    session,
    'log',
    "print a session's recording (its terminal output)",
    'openassist session log s-… | less -R',
  )
    .argument('<session-id>')
    .option('--input', 'what was typed instead (recorded only with RecordInput, see SessionManagerConfig)')
    .action(async (sessionId: string, _flags: LogFlags, command: Command) => {
      const flags = command.optsWithGlobals<LogFlags>();
      await printRecording(await openSession(flags), sessionId, flags);
    });
  verb(session, 'end', 'end a session now (its shell is killed)', 'openassist session end s-…')
    .argument('<session-id>')
    .action(async (sessionId: string, _flags: SessionFlags, command: Command) => {
      const api = await openSession(command.optsWithGlobals<SessionFlags>());
      await api.call('EndTerminalSession', { SessionId: sessionId });
      if (api.p.json) printJson(api.p, { SessionId: sessionId });
      else api.p.out.write(`${sessionId} ended\n`);
    });
}
