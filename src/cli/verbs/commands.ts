import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError } from '../../config.js';
import { errnoCode } from '../../guards.js';
import { printJson, printTable } from '../presenter.js';
import { allPages, openSession, type SessionFlags, verb } from '../session.js';

interface SavedCommand {
  CommandId: string;
  Name: string;
  Type: string;
  Description: string;
  Timeout: number;
  CreationTime: string;
  InvokeTimes: number;
  ParameterNames: { ParameterName: string[] };
}

interface CreateFlags extends SessionFlags {
  script?: string;
  file?: string;
  type?: string;
  timeout?: string;
  workdir?: string;
  description?: string;
  enableParameter?: boolean;
}

/** The script of --script or --file (exactly one). */
export async function scriptOf(flags: {
  script?: string | undefined;
  file?: string | undefined;
}): Promise<string> {
  if ((flags.script === undefined) === (flags.file === undefined)) {
    throw new ConfigError('give the script with exactly one of --script TEXT or --file PATH');
  }
  if (flags.script !== undefined) return flags.script;
  return readUserFile(flags.file ?? '', 'the script file');
}

/** A file the user named; a missing or unreadable one is a one-line mistake, not a stack. */
export async function readUserFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = errnoCode(error);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code;
    throw new ConfigError(`cannot read ${what} ${path}: ${why ?? String(error)}`);
  }
}

/** The script flags of `run` and `commands create`: the text or a file, and its type. */
export function scriptOptions(command: Command): Command {
  return command
    .option('--script <text>', 'the script')
    .option('--file <path>', 'read the script from a file')
    .option(
      '--type <type>',
      'RunShellScript (default), RunBatScript or RunPowerShellScript',
      'RunShellScript',
    );
}

/** `openassist commands list|create|delete`: saved commands (DescribeCommands, CreateCommand, DeleteCommand). */
export function registerCommands(program: Command): void {
  const commands = program.command('commands').description('saved commands');
  verb(commands, 'list', 'list saved commands', "openassist commands list --name 'deploy*'")
    .option('--name <name>', 'only commands with this name (* matches any characters: deploy*, *web*)')
    .action(async (flags: SessionFlags & { name?: string }) => {
      const { call, p } = await openSession(flags);
      const items = await allPages(async (NextToken) => {
        const body = await call<{ Commands: { Command: SavedCommand[] }; NextToken?: string }>(
          'DescribeCommands',
          {
            MaxResults: 50,
            NextToken,
            Name: flags.name,
          },
        );
        return { items: body.Commands.Command, nextToken: body.NextToken };
      });
      if (p.json) return printJson(p, items);
      printTable(
        p,
        ['Command', 'Name', 'Type', 'Timeout', 'Parameters', 'Runs', 'Created'],
        items.map((item) => [
          item.CommandId,
          item.Name,
          item.Type,
          item.Timeout,
          item.ParameterNames.ParameterName.join(', '),
          item.InvokeTimes,
          item.CreationTime,
        ]),
      );
    });
  scriptOptions(
    verb(
      commands,
      'create',
      'save a command',
      "openassist commands create restart-web --script 'systemctl restart {{service}}' --enable-parameter",
    ),
  )
    .argument('<name>')
    .option('--timeout <seconds>', 'timeout in seconds')
    .option('--workdir <dir>', 'working directory')
    .option('--description <text>', 'a description')
    .option('--enable-parameter', 'the script uses {{name}} parameters')
    .action(async (name: string, flags: CreateFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ CommandId: string }>('CreateCommand', {
        Name: name,
        Type: flags.type,
        CommandContent: await scriptOf(flags),
        ContentEncoding: 'PlainText',
        Timeout: flags.timeout,
        WorkingDir: flags.workdir,
        Description: flags.description,
        EnableParameter: flags.enableParameter,
      });
      if (p.json) return printJson(p, body);
      p.out.write(`${body.CommandId}\n`);
    });
  verb(commands, 'delete', 'delete a saved command', 'openassist commands delete c-hz0jdfwcsr…')
    .argument('<command-id>')
    .action(async (id: string, flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call('DeleteCommand', { CommandId: id });
      if (p.json) return printJson(p, body);
      p.out.write(`${id} deleted\n`);
    });
}
