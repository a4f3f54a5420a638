import type { Command } from 'commander';
import { ConfigError } from '../../config.js';
import { printJson, printTable, statusText } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';
import { readUserFile } from './commands.js';

/** Access keys are managed through RAM's actions (API version 2015-05-01) on our endpoint. */
const ramVersion = '2015-05-01';

interface Key {
  AccessKeyId: string;
  AccessKeySecret?: string;
  Status: string;
  CreateDate: string;
  Policy: string;
  ResourceGroupId: string;
}

interface CreateFlags extends SessionFlags {
  allow?: string[];
  policy?: string;
  resourceGroup?: string;
}

/** --allow a b builds a one-statement Allow policy; --policy takes a whole document (or @file). */
async function policyOf(flags: CreateFlags): Promise<string | undefined> {
  if (flags.allow && flags.policy) throw new ConfigError('give --allow or --policy, not both');
  if (flags.allow)
    return JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: flags.allow }] });
  if (flags.policy?.startsWith('@')) return readUserFile(flags.policy.slice(1), 'the policy file');
  return flags.policy;
}

/** A policy's allowed and denied actions, short enough for a table cell. */
function policySummary(policy: string): string {
  if (!policy) return 'all actions';
  try {
    // A summary only: a policy of another shape throws here and is shown as written.
    const statements = (JSON.parse(policy) as { Statement: { Effect: string; Action: string | string[] }[] })
      .Statement;
    return statements
      .map((statement) => `${statement.Effect} ${[statement.Action].flat().join(' ')}`)
      .join('; ');
  } catch {
    return policy;
  }
}

/** `openassist keys create|list|enable|disable|delete`: API access keys; only the root key may. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API access keys (the root key manages them)');
  verb(
    keys,
    'create',
    'create an access key (its secret is shown once)',
    "openassist keys create --allow 'ecs:Describe*' ecs:InvokeCommand --resource-group rg-…",
  )
    .option('--allow <action...>', "allow only these actions (product:Action, wildcards: 'ecs:Describe*')")
    .option('--policy <document>', 'a RAM policy document, or @FILE')
    .option('--resource-group <id>', 'the one resource group the key sees and touches')
    .action(async (flags: CreateFlags) => {
      const { call, p } = await openSession(flags);
      const { AccessKey: key } = await call<{ AccessKey: Key }>(
        'CreateAccessKey',
        { Policy: await policyOf(flags), ResourceGroupId: flags.resourceGroup },
        ramVersion,
      );
      if (p.json) return printJson(p, key);
      p.out.write(
        `AccessKeyId      ${key.AccessKeyId}\nAccessKeySecret  ${key.AccessKeySecret}\n` +
          `${p.colors.dim('The secret is shown once: store it now.')}\n`,
      );
    });
  verb(keys, 'list', 'list access keys (never their secrets)', 'openassist keys list').action(
    async (flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ AccessKeys: { AccessKey: Key[] } }>('ListAccessKeys', {}, ramVersion);
      if (p.json) return printJson(p, body.AccessKeys.AccessKey);
      printTable(
        p,
        ['AccessKeyId', 'Status', 'Created', 'Policy', 'Resource group'],
        body.AccessKeys.AccessKey.map((key) => [
          key.AccessKeyId,
          statusText(p, key.Status),
          key.CreateDate,
          policySummary(key.Policy),
          key.ResourceGroupId || 'all',
        ]),
      );
    },
  );
  for (const [name, status] of [
    ['enable', 'Active'],
    ['disable', 'Inactive'],
  ] as const) {
    verb(keys, name, `${name} an access key`, `openassist keys ${name} LTAI…`)
      .argument('<access-key-id>')
      .action(async (id: string, flags: SessionFlags) => {
        const { call, p } = await openSession(flags);
        const body = await call('UpdateAccessKey', { UserAccessKeyId: id, Status: status }, ramVersion);
        if (p.json) return printJson(p, body);
        p.out.write(`${id} ${status}\n`);
      });
  }
  verb(keys, 'delete', 'delete an access key', 'openassist keys delete LTAI…')
    .argument('<access-key-id>')
    .action(async (id: string, flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call('DeleteAccessKey', { UserAccessKeyId: id }, ramVersion);
      if (p.json) return printJson(p, body);
      p.out.write(`${id} deleted\n`);
    });
}
