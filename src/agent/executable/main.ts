// The entry point of the agent's single executable (`openassist-agent`, built by ./build.ts): the
// flags, environment and ready line of `openassist agent`, from the same code, with Node inside.
import { Command, Option } from 'commander';
import { addAgentOptions, agentExample, runAgent } from '../../cli/agent-command.js';
import { explainError } from '../../cli/errors.js';
import { type AgentFlags, processEnvironment } from '../../config.js';
import { version } from '../../version.js';

const program = addAgentOptions(
  new Command('openassist-agent')
    .description('the OpenAssist agent: register on first start, then serve tasks')
    .version(version),
  Option,
)
  .addHelpText('after', agentExample('openassist-agent'))
  .action((flags: AgentFlags, command: Command) => runAgent(flags, command));

async function main(): Promise<void> {
  // Every variable is read and checked before anything runs: a bad one stops the start, named.
  processEnvironment();
  // A single executable's argv is [executable, executable, …flags], as node's is [node, script, …].
  await program.parseAsync(process.argv);
}

main().catch((error: unknown) => {
  const known = explainError(error);
  console.error(
    `openassist-agent: ${known?.message ?? (error instanceof Error ? (error.stack ?? error.message) : String(error))}`,
  );
  process.exit(known?.status ?? 1);
});
