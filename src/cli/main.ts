import { Command, Option } from 'commander';
import { ConfigError, loadServerConfig, type ServerFlags } from '../config.js';
import { type RunningServer, startServer } from '../server.js';
import { rootKeyFileName } from '../service/root-access-key.js';
import { version } from '../version.js';
import { callApi } from './api-client.js';
import { type ClientFlags, loadClientConfig } from './client-config.js';

const serverOptions = (command: Command, withDatabase: boolean): Command => {
  command
    .addOption(new Option('--listen <host:port>', 'address to listen on').env('OPENASSIST_LISTEN'))
    .addOption(new Option('--data <dir>', 'data directory').env('OPENASSIST_DATA_DIR'))
    .addOption(new Option('--log-level <level>', 'pino log level').env('OPENASSIST_LOG_LEVEL'));
  if (withDatabase) {
    command.addOption(
      new Option('--database <url>', 'sqlite:PATH or postgres://…').env('OPENASSIST_DATABASE_URL'),
    );
  }
  return command;
};

/** Stops the server on SIGTERM/SIGINT: in-flight requests finish, the database closes, exit 0. */
function stopOnSignals(server: RunningServer): void {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`openassist: shutdown failed: ${String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function runServer(flags: ServerFlags): Promise<void> {
  const config = loadServerConfig(flags, process.env);
  const server = await startServer(config);
  stopOnSignals(server);
  console.log(`openassist server listening on ${server.url}`);
}

async function runUp(flags: ServerFlags): Promise<void> {
  // `up` is the embedded default: always SQLite inside the data dir.
  const config = loadServerConfig(
    { ...flags, database: undefined },
    { ...process.env, OPENASSIST_DATABASE_URL: '' },
  );
  const server = await startServer(config);
  stopOnSignals(server);
  const key =
    server.rootKeySource === 'environment' || config.rootAccessKey
      ? 'from OPENASSIST_ROOT_ACCESS_KEY_ID / OPENASSIST_ROOT_ACCESS_KEY_SECRET'
      : `${config.dataDir}/${rootKeyFileName}`;
  const [host, port] = [config.listen.host, new URL(server.url).port];
  console.log(
    [
      `OpenAssist ${version} is up: listening on ${server.url}`,
      `  region      ${config.regions.join(', ')}`,
      `  access key  ${key}`,
      `  database    ${config.databaseUrl}`,
      '',
      'Try it (this shell, same directory):',
      '  openassist call DescribeRegions',
      '',
      'Or with the official SDK (@alicloud/ecs20140526):',
      `  new Ecs.default(new Config({ endpoint: '${host}:${port}', protocol: 'http', accessKeyId, accessKeySecret }))`,
      '',
      'Stop with Ctrl-C.',
    ].join('\n'),
  );
}

/** `call ACTION --Name value …`: wire names as flags; the client's own flags are lower-case. */
export function parseCallArguments(args: readonly string[]): {
  params: Map<string, string>;
  flags: ClientFlags;
} {
  const params = new Map<string, string>();
  const flags: ClientFlags = {};
  const clientFlags: Record<string, keyof ClientFlags> = {
    '--endpoint': 'endpoint',
    '--access-key-id': 'accessKeyId',
    '--access-key-secret': 'accessKeySecret',
    '--region': 'region',
    '--data': 'data',
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (!name.startsWith('--') || name.length < 3)
      throw new ConfigError(`expected --Name value, got "${arg}"`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    const clientFlag = clientFlags[name];
    if (clientFlag) flags[clientFlag] = value;
    else params.set(name.slice(2), value);
  }
  return { params, flags };
}

async function runCall(action: string, args: string[]): Promise<void> {
  const { params, flags } = parseCallArguments(args);
  const config = loadClientConfig(flags, process.env);
  if (!params.has('RegionId')) params.set('RegionId', config.region);
  const response = await callApi(config, action, params);
  console.log(JSON.stringify(response.body, null, 2));
  if (response.status >= 400) process.exitCode = 1;
}

export function buildProgram(): Command {
  const program = new Command('openassist')
    .description('Self-hosted Alibaba Cloud ECS Cloud Assistant: server, agent and client')
    .version(version);
  serverOptions(program.command('server').description('run the control plane (API endpoint)'), true)
    .addHelpText(
      'after',
      '\nExample:\n  openassist server --listen 0.0.0.0:8080 --database postgres://localhost/openassist',
    )
    .action((flags: ServerFlags) => runServer(flags));
  serverOptions(
    program.command('up').description('run the embedded default: server on SQLite in the data dir'),
    false,
  )
    .addHelpText('after', '\nExample:\n  openassist up --data ./data')
    .action((flags: ServerFlags) => runUp(flags));
  program
    .command('call')
    .description('call any API action; parameters as on the wire')
    .argument('<action>', 'API action, e.g. DescribeCommands')
    .argument('[params...]', '--Name value pairs, e.g. --InstanceId.1 mi-…')
    .allowUnknownOption()
    .helpOption(false)
    .addHelpText('after', '\nExample:\n  openassist call DescribeCommands --PageSize 5')
    .action((action: string, args: string[]) => runCall(action, args));
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`openassist: ${error.message}`);
      process.exit(2);
    }
    console.error(`openassist: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}
