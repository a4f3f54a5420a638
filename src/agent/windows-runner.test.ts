import { describe, expect, it } from 'vitest';
import { encodePowerShell, psQuote, type WindowsTask, windowsLaunch } from './windows-runner.js';

// Windows cannot run here; these tests pin the launch plan the Windows agent would execute.
const task = (fields: Partial<WindowsTask>): WindowsTask => ({
  invokeId: 't-1',
  commandType: 'RunBatScript',
  script: 'echo one\necho two',
  username: '',
  password: undefined,
  workingDir: '',
  timeoutSeconds: 60,
  ...fields,
});

const decode = (encoded: string): string => Buffer.from(encoded, 'base64').toString('utf16le');

describe('the Windows launch plan', () => {
  it('runs batch files through cmd.exe with CRLF line ends', () => {
    const plan = windowsLaunch(task({}), 'C:\\agent', 'C:\\Windows');
    expect(plan).toMatchObject({
      command: 'C:\\Windows\\System32\\cmd.exe',
      args: ['/d', '/c', 'C:\\agent\\scripts\\t-1.bat'],
      env: {},
      scriptText: 'echo one\r\necho two',
    });
  });

  it('runs PowerShell scripts with no profile, no prompts and no execution policy block', () => {
    const plan = windowsLaunch(
      task({ commandType: 'RunPowerShellScript', username: 'System' }),
      'C:\\agent',
      'C:\\Windows',
    );
    expect(plan?.command).toBe('C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe');
    expect(plan?.args).toEqual([
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-File',
      'C:\\agent\\scripts\\t-1.ps1',
    ]);
  });

  it('refuses shell scripts', () => {
    expect(
      windowsLaunch(task({ commandType: 'RunShellScript' }), 'C:\\agent', 'C:\\Windows'),
    ).toBeUndefined();
  });

  it("runs as another user through Start-Process -Credential, the password only in the launcher's environment", () => {
    const plan = windowsLaunch(
      task({ username: "O'Brien", password: 'Pa55 w0rd!', workingDir: 'D:\\work dir' }),
      'C:\\agent',
      'C:\\Windows',
    );
    expect(plan?.env).toEqual({ OPENASSIST_RUNAS_PASSWORD: 'Pa55 w0rd!' });
    expect(plan?.args.slice(0, 5)).toEqual([
      '-NoProfile',
      '-NonInteractive',
      '-ExecutionPolicy',
      'Bypass',
      '-EncodedCommand',
    ]);
    expect(plan?.args.join(' ')).not.toContain('Pa55');
    const wrapper = decode(plan?.args[5] ?? '');
    expect(wrapper).toContain("PSCredential('O''Brien', $secure)");
    expect(wrapper).toContain('Remove-Item Env:OPENASSIST_RUNAS_PASSWORD');
    expect(wrapper).toContain(
      "-FilePath 'C:\\Windows\\System32\\cmd.exe' -ArgumentList '/d', '/c', 'C:\\agent\\scripts\\t-1.bat'",
    );
    expect(wrapper).toContain("-WorkingDirectory 'D:\\work dir'");
    expect(wrapper).toContain('exit $p.ExitCode');
    expect(wrapper).not.toContain('Pa55');
  });

  it('quotes and encodes for PowerShell', () => {
    expect(psQuote("it's")).toBe("'it''s'");
    expect(decode(encodePowerShell('Write-Output "é"'))).toBe('Write-Output "é"');
  });
});
