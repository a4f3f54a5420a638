import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { completionTable } from './completion.js';
import { buildProgram } from './main.js';
import { parseCallArguments } from './verbs/call.js';

const leaves = (command: Command, chain = ''): [string, Command][] =>
  command.commands.length === 0
    ? [[chain, command]]
    : command.commands.flatMap((sub) => leaves(sub, `${chain} ${sub.name()}`.trim()));

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text;
}

describe('the command tree', () => {
  it('gives every verb a --help with a description and an example', async () => {
    const all = leaves(await buildProgram());
    expect(all.length).toBeGreaterThan(25);
    for (const [chain, command] of all) {
      expect(command.description(), chain).not.toBe('');
      expect(helpOf(command), chain).toMatch(/Example:\n {2}openassist /);
    }
  });

  it('lists every chain for completion, with its subcommands and flags', async () => {
    const table = completionTable(await buildProgram());
    expect(table.get('')).toEqual(expect.arrayContaining(['run', 'keys', 'completion', '--help']));
    expect(table.get('keys')).toEqual(
      expect.arrayContaining(['create', 'list', 'enable', 'disable', 'delete']),
    );
    expect(table.get('run')).toEqual(expect.arrayContaining(['--instance', '--tag', '--no-wait', '--json']));
    expect(table.get('settings')).toEqual(expect.arrayContaining(['get', 'set']));
    expect(table.get('settings set')).toEqual(expect.arrayContaining(['--config', '--json']));
    expect(table.get('session')).toEqual(expect.arrayContaining(['list', 'log', 'end', '--user']));
    expect(table.get('port-forward')).toEqual(expect.arrayContaining(['--target', '--endpoint']));
  });
});

describe('call arguments', () => {
  it('reads wire names, --Name=value, client flags, and several values as a list', () => {
    const { params, flags } = parseCallArguments([
      '--InstanceId',
      'mi-a',
      'mi-b',
      '--Parameters={"a":"--x"}',
      '--Tag.1.Key',
      'env',
      '--profile',
      'lab',
      '--api-version',
      '2015-05-01',
    ]);
    expect(Object.fromEntries(params)).toEqual({
      'InstanceId.1': 'mi-a',
      'InstanceId.2': 'mi-b',
      Parameters: '{"a":"--x"}',
      'Tag.1.Key': 'env',
    });
    expect(flags).toEqual({ profile: 'lab', apiVersion: '2015-05-01' });
  });

  it('refuses a missing value, a bare word, and a client flag given twice', () => {
    expect(() => parseCallArguments(['--PageSize'])).toThrow('--PageSize needs a value');
    expect(() => parseCallArguments(['PageSize', '5'])).toThrow('expected --Name value');
    expect(() => parseCallArguments(['--region', 'a', 'b'])).toThrow('--region takes one value');
  });
});
