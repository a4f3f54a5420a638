import { readFileSync, writeFileSync } from 'node:fs';
import { isSea } from 'node:sea';

/** `args` with the value of `flag` replaced by `***`, in both `--flag VALUE` and `--flag=VALUE` forms. */
export function maskedArgs(args: readonly string[], flag: string): string[] {
  return args.map((arg, at) => {
    if (arg.startsWith(`${flag}=`)) return `${flag}=***`;
    return at > 0 && args[at - 1] === flag ? '***' : arg;
  });
}

/**
 * Replaces what other local users see of this process's arguments (`ps`, /proc/PID/cmdline) with
 * them masked. On Linux Node writes a new title over the memory the kernel shows as the command
 * line, padding it with NULs, so the value is gone from there; it was visible from the exec until
 * now. The title also renames the process (/proc/PID/comm): its name is put back.
 */
export function hideArgument(flag: string): void {
  // A single executable's argv repeats its own path in argv[1], where node's has the script.
  const original = [process.argv0, ...process.execArgv, ...process.argv.slice(isSea() ? 2 : 1)];
  const masked = maskedArgs(original, flag);
  if (masked.every((arg, at) => arg === original[at])) return;
  const comm = '/proc/self/comm';
  let name: string | undefined;
  try {
    name = readFileSync(comm, 'utf8').trim();
  } catch {
    // not Linux: no process name to keep
  }
  process.title = masked.join(' ');
  if (name === undefined) return;
  try {
    writeFileSync(comm, name);
  } catch {
    // the name stays the title's start
  }
}
