import type { Command } from 'commander';
import { callApi } from '../../client/api.js';
import { ConfigError, processEnvironment } from '../../config.js';
import { type ClientFlags, loadClientConfig } from '../client-config.js';

/** The client's own flags among the wire names: lower-case, so no API parameter can collide. */
const clientFlags: Record<string, keyof ClientFlags> = {
  '--api-version': 'apiVersion',
  '--endpoint': 'endpoint',
  '--access-key-id': 'accessKeyId',
  '--access-key-secret': 'accessKeySecret',
  '--region': 'region',
  '--data': 'data',
  '--profile': 'profile',
};

/**
 * `call ACTION --Name value …`: wire names as flags (`--InstanceId.1 a`, `--Name=value`). Like the
 * aliyun CLI, a flag followed by several values is a list: `--InstanceId a b` sends InstanceId.1 and
 * InstanceId.2. A JSON value (`--Parameters '{"a":1}'`) is sent as it is.
 */
export function parseCallArguments(args: readonly string[]): {
  params: Map<string, string>;
  flags: ClientFlags;
} {
  const params = new Map<string, string>();
  const flags: ClientFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!name.startsWith('--') || name.length < 3)
      throw new ConfigError(`expected --Name value, got "${arg}"`);
    const values: string[] = [];
    if (eq > 0) values.push(arg.slice(eq + 1));
    else while (i + 1 < args.length && !(args[i + 1] ?? '').startsWith('--')) values.push(args[++i] ?? '');
    if (values.length === 0) throw new ConfigError(`${name} needs a value`);
    const clientFlag = clientFlags[name];
    if (clientFlag) {
      if (values.length > 1) throw new ConfigError(`${name} takes one value`);
      flags[clientFlag] = values[0];
    } else if (values.length === 1) {
      params.set(name.slice(2), values[0] ?? '');
    } else {
      values.forEach((value, index) => {
        params.set(`${name.slice(2)}.${index + 1}`, value);
      });
    }
  }
  return { params, flags };
}

export function registerCall(program: Command): void {
  program
    .command('call')
    .description('call any API action; parameters as on the wire; prints the JSON response')
    .argument('<action>', 'API action, e.g. DescribeCommands')
    .argument('[params...]', '--Name value pairs, e.g. --InstanceId.1 mi-… (or --InstanceId mi-a mi-b)')
    .allowUnknownOption()
    .helpOption(false)
    .addHelpText(
      'after',
      '\nClient flags: --profile --endpoint --region --data --api-version (another product: RAM 2015-05-01, ResourceManager 2020-03-31)\n' +
        '\nExample:\n  openassist call DescribeInvocationResults --InvokeId t-… --InstanceId mi-a',
    )
    .action(async (action: string, args: string[], _options: object, command: Command) => {
      // Help is taken off by hand (every other flag is a wire name): `call --help`, `-h`, `call X --help`.
      if (action === '--help' || action === '-h' || args.includes('--help') || args[0] === '-h') {
        command.outputHelp();
        return;
      }
      const { params, flags } = parseCallArguments(args);
      const config = await loadClientConfig(flags, processEnvironment().client);
      // Only ECS calls get the default region: ResourceManager, RAM and OOS take none or their own.
      if (!flags.apiVersion && !params.has('RegionId')) params.set('RegionId', config.region);
      const response = await callApi(config, action, params, flags.apiVersion);
      console.log(JSON.stringify(response.body, null, 2));
      if (response.status >= 400) process.exitCode = 1;
    });
}
