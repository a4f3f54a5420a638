// Each verb loads what it runs: an agent never loads the server (fastify, pg, …), nor a client either.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as Commander from 'commander';
import { loadIdentity } from '../agent/identity.js';
import {
  type AgentFlags,
  embeddedDatabaseUrl,
  type LocalAgent,
  loadServerConfig,
  localAgentConfig,
  processEnvironment,
  type ServerConfig,
  type ServerFlags,
} from '../config.js';
import { rootKeyFileName } from '../data-files.js';
import { version } from '../version.js';
import { addAgentOptions, agentExample, runAgent } from './agent-command.js';
import { explainError } from './errors.js';
import { stopOnSignals } from './process-signals.js';

// Required, not imported, like the agent's ws (agent/agent.ts says why); require() returns any, hence the type.
const { Command, Option } = createRequire(import.meta.url)('commander') as typeof Commander;
type Command = Commander.Command;

// No option reads the environment itself: the loaders lay the flags over processEnvironment() (config.ts).
const serverOptions = (command: Command, withDatabase: boolean): Command => {
  command
    .option('--listen <host:port>', 'address to listen on (env: OPENASSIST_LISTEN)')
    .option('--data <dir>', 'data directory (env: OPENASSIST_DATA_DIR)')
    .option('--log-level <level>', 'pino log level (env: OPENASSIST_LOG_LEVEL)')
    .option('--tls-cert <file>', 'serve HTTPS: certificate chain (PEM) (env: OPENASSIST_TLS_CERT)')
    .option('--tls-key <file>', 'serve HTTPS: private key (PEM) (env: OPENASSIST_TLS_KEY)');
  if (withDatabase)
    command.option('--database <url>', 'sqlite:PATH or postgres://… (env: OPENASSIST_DATABASE_URL)');
  return command;
};

async function runServer(flags: ServerFlags): Promise<void> {
  const config = loadServerConfig(flags, processEnvironment().server);
  const { startServer } = await import('../server.js');
  const server = await startServer(config);
  stopOnSignals(() => server.close());
  console.log(`openassist server listening on ${server.url}`);
}

/** The address the local agent dials: a wildcard listen address is reached over loopback. */
function localAgentTarget(serverUrl: string): { url: string; range: string } {
  const url = new URL(serverUrl);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  if (url.hostname === '[::]') url.hostname = '[::1]';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const range = host.includes(':') ? `${host}/128` : host.startsWith('127.') ? '127.0.0.0/8' : `${host}/32`;
  return { url: url.origin, range };
}

async function runUp(flags: ServerFlags): Promise<void> {
  // `up` is the embedded default: always SQLite inside the data dir, plus one local agent.
  const environment = processEnvironment();
  const loaded = loadServerConfig(flags, environment.server);
  const config: ServerConfig = Object.freeze({ ...loaded, databaseUrl: embeddedDatabaseUrl(loaded.dataDir) });
  const { startServer } = await import('../server.js');
  // The local agent's state dir is in the data dir: run-as users pass through to their scripts.
  const server = await startServer(config, { dataDirMode: 0o711 });
  const stateDir = join(config.dataDir, 'agent');
  const target = localAgentTarget(server.url);
  let activation: LocalAgent['activation'];
  if (!(await loadIdentity(stateDir))) {
    const created = await server.services.activations.create(config.regions[0] ?? 'cn-hangzhou', {
      instanceName: 'local',
      instanceCount: 1,
      ttlHours: 1,
      ipAddressRange: target.range,
      description: 'openassist up: the local agent',
      tags: [],
    });
    activation = { activationId: created.activation.id, activationCode: created.code };
  }
  const agentConfig = localAgentConfig(environment.agent, {
    serverUrl: target.url,
    stateDir,
    activation,
    serverCertFile: config.tls?.certFile,
  });
  const { startAgent } = await import('../agent/agent.js');
  const agent = await startAgent(
    agentConfig,
    (line) => console.log(`agent: ${line}`),
    (error) => console.error(`agent: ${error.message}`),
  );
  stopOnSignals(async () => {
    await agent.stop();
    await server.close();
  });
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
      `  agent       ${agent.instanceId} (this machine)`,
      `  console     ${server.url}/console (sign in with the access key)`,
      '',
      'Try it (another shell, same directory):',
      `  ./bin/openassist run --instance ${agent.instanceId} --script 'echo hello from $(hostname)'`,
      '  ./bin/openassist call DescribeInvocations',
      '',
      'Or with the official SDK (@alicloud/ecs20140526):',
      `  new Ecs.default(new Config({ endpoint: '${host}:${port}', protocol: '${config.tls ? 'https' : 'http'}', accessKeyId, accessKeySecret }))`,
      '',
      'Stop with Ctrl-C.',
    ].join('\n'),
  );
}

const processVerbs: ReadonlySet<string> = new Set(['server', 'up', 'agent']);

/** The command tree; `verb` (the first argument) lets a process verb skip the client verbs. */
export async function buildProgram(verb?: string): Promise<Command> {
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
  addAgentOptions(
    program.command('agent').description('run the agent: register on first start, then serve tasks'),
    Option,
  )
    .addHelpText('after', agentExample('openassist agent'))
    .action((flags: AgentFlags, command: Command) => runAgent(flags, command));
  // The long-running processes load no client code (tables, terminal drawing, completion) at all.
  if (!processVerbs.has(verb ?? '')) (await import('./client-verbs.js')).registerClientVerbs(program);
  return program;
}

/** A client verb piped into `head` and the like ends quietly when its reader goes, as Unix tools do. */
function endOnClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
}

export async function main(argv: readonly string[]): Promise<void> {
  if (!processVerbs.has(argv[2] ?? '')) endOnClosedOutput();
  try {
    // Every variable is read and checked before anything runs: a bad one stops the start, named.
    processEnvironment();
    await (await buildProgram(argv[2])).parseAsync([...argv]);
  } catch (error) {
    // An ordinary mistake is one line; only a bug (an error nobody expected) shows its stack.
    const known = explainError(error);
    if (known) {
      console.error(`openassist: ${known.message}`);
      process.exit(known.status);
    }
    console.error(`openassist: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  }
}
