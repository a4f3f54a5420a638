import { callApi } from '../client/api.js';
import { type ClientFlags, loadClientConfig } from './client-config.js';

const resourceManagerVersion = '2020-03-31';

type Env = Readonly<Record<string, string | undefined>>;

interface Group {
  Id: string;
  Name: string;
  DisplayName: string;
  CreateDate: string;
}

async function call(flags: ClientFlags, env: Env, action: string, params: Record<string, string>) {
  const config = loadClientConfig(flags, env);
  const response = await callApi(config, action, new Map(Object.entries(params)), resourceManagerVersion);
  if (response.status >= 400) {
    process.stderr.write(`${String(response.body.Code)}: ${String(response.body.Message)}\n`);
    return undefined;
  }
  return response.body;
}

const line = (group: Group) => `${group.Id}\t${group.Name}\t${group.DisplayName}\t${group.CreateDate}\n`;

/** `openassist resource-group create|list|delete`: ResourceManager's resource groups, on our endpoint. */
export async function resourceGroupVerb(
  verb: 'create' | 'list' | 'delete',
  argument: string | undefined,
  flags: ClientFlags & { displayName?: string | undefined },
  env: Env,
): Promise<number> {
  if (verb === 'list') {
    const body = await call(flags, env, 'ListResourceGroups', { PageSize: '100' });
    if (!body) return 1;
    for (const group of (body.ResourceGroups as { ResourceGroup: Group[] }).ResourceGroup)
      process.stdout.write(line(group));
    return 0;
  }
  if (!argument) {
    process.stderr.write(`resource-group ${verb} needs ${verb === 'create' ? 'a NAME' : 'an rg- ID'}\n`);
    return 2;
  }
  const body =
    verb === 'create'
      ? await call(flags, env, 'CreateResourceGroup', {
          Name: argument,
          DisplayName: flags.displayName ?? argument,
        })
      : await call(flags, env, 'DeleteResourceGroup', { ResourceGroupId: argument });
  if (!body) return 1;
  process.stdout.write(line(body.ResourceGroup as Group));
  return 0;
}
