import { spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { win32 } from 'node:path';
import { executionException, runError } from '../domain/run-errors.js';
import type { RunEvents, RunHandle, RunOutcome, TerminationMode } from './runner.js';

/**
 * The agent's runner on Windows: batch files through cmd.exe, PowerShell scripts through
 * powershell.exe, another user through Start-Process -Credential with the password the task
 * carries. It cannot run on this project's Linux machines: the launch plan is pure and unit-tested,
 * the process handling is small and mirrors the Linux runner's outcomes.
 */
export interface WindowsTask {
  readonly invokeId: string;
  readonly commandType: string;
  readonly script: string;
  readonly username: string;
  readonly password: string | undefined;
  readonly workingDir: string;
  readonly timeoutSeconds: number;
}

export interface WindowsLaunch {
  readonly command: string;
  readonly args: string[];
  /** Extra environment for the launcher; the run-as password travels here, never in the arguments. */
  readonly env: Record<string, string>;
  readonly scriptFile: string;
  /** The script as written to disk (batch files get CRLF line ends). */
  readonly scriptText: string;
}

/** A PowerShell single-quoted string: quotes are doubled, nothing else is special. */
export const psQuote = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** What `-EncodedCommand` expects: Base64 of the UTF-16LE script. */
export const encodePowerShell = (script: string): string => Buffer.from(script, 'utf16le').toString('base64');

const runsAsSystem = (username: string): boolean => username === '' || username.toLowerCase() === 'system';

/** How to start one task; undefined for a command type Windows cannot run (shell scripts). */
export function windowsLaunch(
  task: WindowsTask,
  workDir: string,
  systemRoot: string,
): WindowsLaunch | undefined {
  const system32 = `${systemRoot}\\System32`;
  const powershell = `${system32}\\WindowsPowerShell\\v1.0\\powershell.exe`;
  let inner: { command: string; args: string[]; extension: string; text: string };
  if (task.commandType === 'RunBatScript') {
    inner = {
      command: `${system32}\\cmd.exe`,
      args: ['/d', '/c'],
      extension: 'bat',
      text: task.script.replace(/\r?\n/g, '\r\n'),
    };
  } else if (task.commandType === 'RunPowerShellScript') {
    inner = {
      command: powershell,
      args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File'],
      extension: 'ps1',
      text: task.script,
    };
  } else {
    return undefined;
  }
  const scriptFile = win32.join(workDir, 'scripts', `${task.invokeId}.${inner.extension}`);
  if (runsAsSystem(task.username)) {
    return {
      command: inner.command,
      args: [...inner.args, scriptFile],
      env: {},
      scriptFile,
      scriptText: inner.text,
    };
  }
  // Another user: a PowerShell wrapper starts the script with that user's credential and relays its
  // output and exit code. The password comes from the environment and is removed from it at once.
  const argumentList = [...inner.args, scriptFile].map(psQuote).join(', ');
  const wrapper = [
    "$ErrorActionPreference = 'Stop'",
    '$secure = ConvertTo-SecureString $env:OPENASSIST_RUNAS_PASSWORD -AsPlainText -Force',
    'Remove-Item Env:OPENASSIST_RUNAS_PASSWORD',
    `$credential = New-Object System.Management.Automation.PSCredential(${psQuote(task.username)}, $secure)`,
    '$out = [System.IO.Path]::GetTempFileName()',
    `$p = Start-Process -FilePath ${psQuote(inner.command)} -ArgumentList ${argumentList} -Credential $credential ` +
      `${task.workingDir ? `-WorkingDirectory ${psQuote(task.workingDir)} ` : ''}` +
      '-NoNewWindow -Wait -PassThru -RedirectStandardOutput $out -RedirectStandardError "$out.err"',
    'Get-Content -Raw $out; Get-Content -Raw "$out.err"; Remove-Item $out, "$out.err"',
    'exit $p.ExitCode',
  ].join('\n');
  return {
    command: powershell,
    args: [
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
      encodePowerShell(wrapper),
    ],
    env: { OPENASSIST_RUNAS_PASSWORD: task.password ?? '' },
    scriptFile,
    scriptText: inner.text,
  };
}

const outcome = (
  status: RunOutcome['status'],
  exitCode: number | null,
  error: Pick<RunOutcome, 'errorCode' | 'errorInfo'> = { errorCode: '', errorInfo: '' },
): RunOutcome => ({ status, exitCode, ...error });

/** Runs one task on Windows; a timeout or a stop ends the whole tree with `taskkill /T /F`. */
export function runWindowsScript(
  task: WindowsTask,
  workDir: string,
  systemRoot: string,
  events: RunEvents,
): RunHandle {
  const launch = windowsLaunch(task, workDir, systemRoot);
  let kill: ((reason: 'timeout' | TerminationMode) => void) | undefined;
  const done = (async (): Promise<RunOutcome> => {
    if (!launch) return outcome('Failed', null, runError('CommandNotApplicable'));
    await mkdir(win32.join(workDir, 'scripts'), { recursive: true });
    await writeFile(launch.scriptFile, launch.scriptText);
    try {
      return await new Promise<RunOutcome>((resolve) => {
        const child = spawn(launch.command, launch.args, {
          cwd: task.workingDir || undefined,
          // The script inherits the agent's environment (not configuration read here), plus the launcher's.
          env: { ...process.env, ...launch.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          windowsHide: true,
        });
        let reason: 'timeout' | TerminationMode | undefined;
        kill = (why) => {
          if (reason || child.pid === undefined) return;
          reason = why;
          const tree = why === 'Process' ? [] : ['/T'];
          spawn(`${systemRoot}\\System32\\taskkill.exe`, ['/PID', String(child.pid), ...tree, '/F'], {
            windowsHide: true,
          });
        };
        const timer = setTimeout(() => kill?.('timeout'), task.timeoutSeconds * 1000);
        if (child.pid !== undefined) events.onStart?.(child.pid);
        child.stdout.on('data', (chunk: Buffer) => events.onOutput?.(chunk));
        child.stderr.on('data', (chunk: Buffer) => events.onOutput?.(chunk));
        child.on('error', (error) => {
          clearTimeout(timer);
          resolve(outcome('Error', null, executionException(error)));
        });
        child.on('exit', (code) => {
          clearTimeout(timer);
          if (reason === 'timeout') resolve(outcome('Timeout', null, runError('ExecutionTimeout')));
          else if (reason) resolve(outcome('Terminated', code));
          else if (code === 0) resolve(outcome('Success', 0));
          else resolve(outcome('Failed', code, runError('ExitCodeNonzero')));
        });
      });
    } finally {
      await rm(launch.scriptFile, { force: true });
    }
  })();
  return { done, stop: (mode) => kill?.(mode) };
}
