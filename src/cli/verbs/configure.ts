import { createInterface } from 'node:readline/promises';
import { type Command, Option } from 'commander';
import { invoke } from '../../client/api.js';
import { checkEndpoint } from '../../config.js';
import { hideArgument } from '../hide-argument.js';
import {
  defaultProfileName,
  type Profile,
  profileFilePath,
  readProfiles,
  writeProfiles,
} from '../profiles.js';

interface ConfigureFlags {
  profile?: string;
  endpoint?: string;
  accessKeyId?: string;
  accessKeySecret?: string;
  region?: string;
}

/** Shows the end of a secret, as the aliyun CLI does: enough to recognise it, not to use it. */
const masked = (value: string | undefined): string =>
  value ? `${'*'.repeat(Math.max(0, value.length - 4))}${value.slice(-4)}` : '';

/**
 * `openassist configure [--profile NAME]`: asks for endpoint, key id, secret and region (Enter keeps
 * the value in brackets), checks them with one signed call, and saves the profile as the current one.
 * Answers can also come as flags, for scripts.
 */
export function registerConfigure(program: Command): void {
  program
    .command('configure')
    .description('save the endpoint and access key in ~/.openassist/config.json (mode 0600)')
    .addOption(new Option('--profile <name>', 'profile to create or change').default(undefined))
    .option('--endpoint <url>', 'answer for Endpoint')
    .option('--access-key-id <id>', 'answer for Access Key Id')
    .option(
      '--access-key-secret <secret>',
      'answer for Access Key Secret (prefer the prompt: flags show in ps)',
    )
    .option('--region <id>', 'answer for Default Region Id')
    .addHelpText('after', '\nExample:\n  openassist configure --profile lab')
    .action(async (flags: ConfigureFlags) => {
      // Other local users read arguments (ps) while the check call runs: the secret goes from there.
      if (flags.accessKeySecret !== undefined) hideArgument('--access-key-secret');
      const file = await readProfiles();
      const name = flags.profile ?? (file.profiles[file.current] ? file.current : defaultProfileName);
      const old: Profile = file.profiles[name] ?? {};
      const prompt = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
      const lines = prompt[Symbol.asyncIterator]();
      const ask = async (
        question: string,
        shown: string,
        given: string | undefined,
        current: string | undefined,
      ) => {
        if (given !== undefined) return given;
        process.stderr.write(`${question} [${shown}]: `);
        const answer = await lines.next();
        const text = answer.done ? '' : String(answer.value).trim();
        return text || current;
      };
      process.stderr.write(`Configuring profile '${name}'\n`);
      try {
        const endpoint = await ask('Endpoint', old.endpoint ?? '', flags.endpoint, old.endpoint);
        if (endpoint) checkEndpoint(endpoint);
        const accessKeyId = await ask(
          'Access Key Id',
          masked(old.accessKeyId),
          flags.accessKeyId,
          old.accessKeyId,
        );
        const accessKeySecret = await ask(
          'Access Key Secret',
          masked(old.accessKeySecret),
          flags.accessKeySecret,
          old.accessKeySecret,
        );
        const region = await ask(
          'Default Region Id',
          old.region ?? 'cn-hangzhou',
          flags.region,
          old.region ?? 'cn-hangzhou',
        );
        const profile: Profile = { endpoint, accessKeyId, accessKeySecret, region };
        file.profiles[name] = profile;
        file.current = name;
        await writeProfiles(file);
        process.stderr.write(`Saved to ${profileFilePath()}\n`);
        if (endpoint && accessKeyId && accessKeySecret) {
          try {
            await invoke({ endpoint, accessKeyId, accessKeySecret }, 'DescribeRegions', { RegionId: region });
            process.stderr.write('Checked: the endpoint answers signed calls with this key.\n');
          } catch (error) {
            process.stderr.write(
              `Warning: saved, but a signed call failed: ${error instanceof Error ? error.message : String(error)}\n`,
            );
            process.exitCode = 1;
          }
        }
      } finally {
        prompt.close();
      }
    });
}
