import type { Command } from 'commander';
import { invoke } from '../client/api.js';
import { ecsVersion } from '../client/sign.js';
import { processEnvironment } from '../config.js';
import { type ClientConfig, type ClientFlags, loadClientConfig } from './client-config.js';
import { type Presenter, presenter } from './presenter.js';

export interface SessionFlags extends ClientFlags {
  json?: boolean | undefined;
}

/** What a client verb works with: where to call, how to print. */
export interface Session {
  readonly config: ClientConfig;
  readonly p: Presenter;
  /** One signed call; RegionId is added for ECS calls; an error answer throws ApiCallError. */
  call<T = Record<string, unknown>>(
    action: string,
    params?: Readonly<Record<string, string | number | boolean | undefined>>,
    version?: string,
  ): Promise<T>;
}

export async function openSession(flags: SessionFlags): Promise<Session> {
  const environment = processEnvironment();
  const config = await loadClientConfig(flags, environment.client);
  return {
    config,
    p: presenter(flags, environment.terminal),
    call: (action, params = {}, version = ecsVersion) =>
      invoke(
        config,
        action,
        version === ecsVersion ? { RegionId: config.region, ...params } : params,
        version,
      ),
  };
}

/** The connection flags every client verb takes, and --json. */
export function clientVerb(command: Command): Command {
  return command
    .option('--profile <name>', 'profile of ~/.openassist/config.json (env: OPENASSIST_PROFILE)')
    .option('--endpoint <url>', 'API endpoint http://HOST:PORT (env: OPENASSIST_ENDPOINT)')
    .option('--region <id>', 'region id (env: OPENASSIST_REGION)')
    .option(
      '--data <dir>',
      'a local `openassist up` data dir to take the endpoint and key from (env: OPENASSIST_DATA_DIR)',
    )
    .option('--json', 'print JSON for scripts');
}

/** Adds `--Name.N` entries for a list, starting at 1. */
export function listParams(name: string, values: readonly string[] | undefined): Record<string, string> {
  const params: Record<string, string> = {};
  (values ?? []).forEach((value, index) => {
    params[`${name}.${index + 1}`] = value;
  });
  return params;
}

/** Every page of a NextToken-paged list (MaxResults per call). */
export async function allPages<T>(
  fetch: (nextToken: string | undefined) => Promise<{ items: T[]; nextToken?: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    items.push(...page.items);
    token = page.nextToken;
  } while (token);
  return items;
}

/** Adds a verb that prints its example under --help. */
export function verb(parent: Command, name: string, description: string, example: string): Command {
  return clientVerb(parent.command(name).description(description)).addHelpText(
    'after',
    `\nExample:\n  ${example}`,
  );
}
