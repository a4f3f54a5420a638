import type { Command } from 'commander';
import { printJson, printTable } from '../presenter.js';
import { openSession, type SessionFlags, verb } from '../session.js';

/** Resource groups are ResourceManager's (API version 2020-03-31), served on our endpoint. */
const resourceManagerVersion = '2020-03-31';

interface Group {
  Id: string;
  Name: string;
  DisplayName: string;
  CreateDate: string;
}

const row = (group: Group) => [group.Id, group.Name, group.DisplayName, group.CreateDate];
const headings = ['Id', 'Name', 'Display name', 'Created'];

/** `openassist resource-group create|list|delete`. */
export function registerResourceGroups(program: Command): void {
  const groups = program.command('resource-group').description('resource groups (ResourceManager)');
  verb(
    groups,
    'create',
    'create a resource group',
    'openassist resource-group create web-tier --display-name "Web tier"',
  )
    .argument('<name>')
    .option('--display-name <text>', 'display name (default: the name)')
    .action(async (name: string, flags: SessionFlags & { displayName?: string }) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ ResourceGroup: Group }>(
        'CreateResourceGroup',
        { Name: name, DisplayName: flags.displayName ?? name },
        resourceManagerVersion,
      );
      if (p.json) return printJson(p, body.ResourceGroup);
      printTable(p, headings, [row(body.ResourceGroup)]);
    });
  verb(groups, 'list', 'list resource groups', 'openassist resource-group list').action(
    async (flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ ResourceGroups: { ResourceGroup: Group[] } }>(
        'ListResourceGroups',
        { PageSize: 100 },
        resourceManagerVersion,
      );
      if (p.json) return printJson(p, body.ResourceGroups.ResourceGroup);
      printTable(p, headings, body.ResourceGroups.ResourceGroup.map(row));
    },
  );
  verb(groups, 'delete', 'delete a resource group', 'openassist resource-group delete rg-…')
    .argument('<id>')
    .action(async (id: string, flags: SessionFlags) => {
      const { call, p } = await openSession(flags);
      const body = await call<{ ResourceGroup: Group }>(
        'DeleteResourceGroup',
        { ResourceGroupId: id },
        resourceManagerVersion,
      );
      if (p.json) return printJson(p, body.ResourceGroup);
      p.out.write(`${id} deleted\n`);
    });
}
