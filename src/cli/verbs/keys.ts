import type { Command } from 'commander';
import { printJson, printTable, statusText } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

/** Access keys are managed through RAM's actions (API version 2015-05-01) on our endpoint. */
const ramVersion = '2015-05-01';

interface Key {
  AccessKeyId: string;
  AccessKeySecret?: string;
  Status: string;
  CreateDate: string;
}

/** `openassist keys create|list|enable|disable|delete`: API access keys; only the root key may. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('API access keys (the root key manages them)');
  verb(
    keys,
    'create',
    'create an access key (its secret is shown once)',
    'openassist keys create --json',
  ).action(async (flags: SessionFlags) => {
    const { call, p } = await openSession(flags);
    const { AccessKey: key } = await call<{ AccessKey: Key }>('CreateAccessKey', {}, ramVersion);
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
        ['AccessKeyId', 'Status', 'Created'],
        body.AccessKeys.AccessKey.map((key) => [key.AccessKeyId, statusText(p, key.Status), key.CreateDate]),
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
