import type { Command } from 'commander';
import { hideArgument } from '../hide-argument.js';
import { printJson, printTable } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

/** A webhook as CreateWebhook and DescribeWebhooks answer it (docs/webhooks.md). */
interface Webhook {
  WebhookId: string;
  Url: string;
  ResourceGroupId: string;
  TagKey: string;
  TagValue: string;
  CreationTime: string;
  DeliveredCount: number;
  PendingCount: number;
  FailedCount: number;
  LastError: string;
}

const headings = ['Id', 'Url', 'Resource group', 'Tag', 'Delivered', 'Pending', 'Failed', 'Last error'];
const row = (hook: Webhook) => [
  hook.WebhookId,
  hook.Url,
  hook.ResourceGroupId || '(all)',
  hook.TagKey ? `${hook.TagKey}${hook.TagValue ? `=${hook.TagValue}` : ''}` : '(any)',
  String(hook.DeliveredCount),
  String(hook.PendingCount),
  String(hook.FailedCount),
  hook.LastError,
];

/** `--tag team=web` → TagKey and TagValue; `--tag team`: any value. */
function tagParams(tag: string | undefined): Record<string, string> {
  if (!tag) return {};
  const at = tag.indexOf('=');
  return at < 0 ? { TagKey: tag } : { TagKey: tag.slice(0, at), TagValue: tag.slice(at + 1) };
}

/** `openassist webhooks add|list|remove|test`. */
export function registerWebhooks(program: Command): void {
  const hooks = program.command('webhooks').description('URLs that receive signed POSTs for run events');
  verb(
    hooks,
    'add',
    'add a webhook (the secret signs every delivery; it is not shown again)',
    'openassist webhooks add https://ops.example.com/hooks/openassist --secret "$WEBHOOK_SECRET"',
  )
    .argument('<url>')
    .requiredOption('--secret <secret>', 'shared secret, 16 to 256 characters')
    .option('--resource-group <id>', "only this resource group's events")
    .option('--tag <key[=value]>', 'only events of invocations or commands with this tag')
    .action(
      async (url: string, flags: SessionFlags & { secret: string; resourceGroup?: string; tag?: string }) => {
        hideArgument('--secret');
        const { call, p } = await openSession(flags);
        const body = await call<{ Webhook: Webhook }>('CreateWebhook', {
          Url: url,
          Secret: flags.secret,
          ...(flags.resourceGroup && { ResourceGroupId: flags.resourceGroup }),
          ...tagParams(flags.tag),
        });
        if (p.json) return printJson(p, body.Webhook);
        printTable(p, headings, [row(body.Webhook)]);
      },
    );
  verb(hooks, 'list', 'list webhooks with their delivery counts', 'openassist webhooks list').action(
    async (flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ Webhooks: { Webhook: Webhook[] } }>('DescribeWebhooks', {});
      if (p.json) return printJson(p, body.Webhooks.Webhook);
      printTable(p, headings, body.Webhooks.Webhook.map(row));
    },
  );
  verb(hooks, 'remove', 'remove a webhook and its undelivered events', 'openassist webhooks remove wh-…')
    .argument('<id>')
    .action(async (id: string, flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      await call('DeleteWebhook', { WebhookId: id });
      if (p.json) return printJson(p, { WebhookId: id });
      p.out.write(`${id} removed\n`);
    });
  verb(hooks, 'test', 'send a webhook.test event to a webhook', 'openassist webhooks test wh-…')
    .argument('<id>')
    .action(async (id: string, flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ EventId: string }>('TestWebhook', { WebhookId: id });
      if (p.json) return printJson(p, body);
      p.out.write(`${body.EventId} queued for ${id}\n`);
    });
}
