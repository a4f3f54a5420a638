import { setFlagsFromString } from 'node:v8';
import type * as Commander from 'commander';
import { deregister, readCa } from '../agent/identity.js';
import { type AgentFlags, type AgentSettings, loadAgentConfig, processEnvironment } from '../config.js';
import { hideArgument } from './hide-argument.js';
import { stopOnSignals } from './process-signals.js';

type Command = Commander.Command;
type OptionClass = typeof Commander.Option;

const activationCodeFlag = '--activation-code';

/** Adds the agent's options (each with its environment twin) to `command`. */
export function addAgentOptions(command: Command, Option: OptionClass): Command {
  // No option reads the environment itself: loadAgentConfig lays the flags over processEnvironment().
  return (
    command
      .option('--server <url>', "the server's http(s)://HOST:PORT (env: OPENASSIST_AGENT_SERVER)")
      .option('--state-dir <dir>', 'identity and journal directory (env: OPENASSIST_AGENT_STATE_DIR)')
      .option('--activation-id <id>', 'activation to register with (env: OPENASSIST_ACTIVATION_ID)')
      // Deprecated (still accepted, scrubbed from the arguments once read): the code belongs in the environment.
      .addOption(new Option(`${activationCodeFlag} <code>`).hideHelp())
      .option(
        '--activation-code-file <file>',
        'an owner-only (0600) file holding its code (env: OPENASSIST_ACTIVATION_CODE_FILE)',
      )
      .option(
        '--ca <file>',
        "CA certificate(s) (PEM) that sign an https:// server's certificate (env: OPENASSIST_AGENT_CA)",
      )
      .option(
        '--reset-journal',
        'if the journal is damaged, keep it aside and start with an empty one (env: OPENASSIST_AGENT_RESET_JOURNAL=1)',
      )
      .option('--deregister', 'remove this instance from the server (uninstalling), then exit')
  );
}

/** The help's example, for the program name the agent runs under. */
export const agentExample = (program: string): string =>
  `\nExample:\n  ${program} --server http://10.0.0.5:8080 --state-dir /var/lib/openassist --activation-id …\n` +
  '  with the code in OPENASSIST_ACTIVATION_CODE (other users cannot read a process environment) or --activation-code-file';

/** `--deregister`: the uninstaller ends this machine's registration, with the agent's own credentials. */
async function deregisterAgent(config: AgentSettings): Promise<string> {
  const ca = config.caFile ? await readCa(config.caFile) : undefined;
  return deregister(config.stateDir, config.serverUrls, ca);
}

/**
 * Starts the agent from its parsed flags; it runs until SIGTERM/SIGINT (exit 0) or a fatal refusal
 * (exit 3). With `--deregister` it ends the instance's registration instead, and exits.
 */
export async function runAgent(
  flags: AgentFlags & { deregister?: boolean },
  command: Command,
): Promise<void> {
  if (command.getOptionValueSource('activationCode') === 'cli') {
    // Any local user reads a process's arguments (ps): the code would register a rogue instance.
    hideArgument(activationCodeFlag);
    console.error(
      `openassist agent: ${activationCodeFlag} is deprecated: other local users could read the code in ps while the agent started; ` +
        'pass it in OPENASSIST_ACTIVATION_CODE or an owner-only --activation-code-file',
    );
  }
  const config = loadAgentConfig(flags, processEnvironment().agent);
  if (flags.deregister) {
    const instanceId = await deregisterAgent(config);
    console.log(`openassist agent: deregistered ${instanceId}`);
    return;
  }
  // V8's memory reducer gives back what the start used (registration, journal replay, first GCs) once
  // the process is idle, 8 s after a full GC by default; a connected agent is idle within 1 s
  // (measured: idle RSS after 3 s 44.5 -> 42.7 MiB, the same as after 10 s either way).
  setFlagsFromString('--gc-memory-reducer-start-delay-ms=1000');
  const { startAgent } = await import('../agent/agent.js');
  const agent = await startAgent(
    config,
    (line) => console.log(`openassist agent: ${line}`),
    (error) => {
      console.error(`openassist agent: ${error.message}`);
      process.exit(3);
    },
  );
  stopOnSignals(() => agent.stop());
}
