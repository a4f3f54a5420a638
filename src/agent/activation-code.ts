import { readFile, rm, stat } from 'node:fs/promises';
import type { AgentSettings } from '../config.js';
import { AgentError } from './identity.js';

/**
 * The activation code to register with: from OPENASSIST_ACTIVATION_CODE (or the deprecated flag),
 * else from the file `--activation-code-file` names, which must be the owner's only: a code other
 * local users can read lets them register a rogue instance.
 */
export async function activationCode(
  config: Pick<AgentSettings, 'activationCode' | 'activationCodeFile'>,
): Promise<string | undefined> {
  if (config.activationCode) return config.activationCode;
  const file = config.activationCodeFile;
  if (!file) return undefined;
  const fail = (error: NodeJS.ErrnoException) => {
    throw new AgentError(`cannot read the activation code file ${file}: ${error.code ?? error.message}`);
  };
  const mode = (await stat(file).catch(fail)).mode & 0o777;
  if (mode & 0o077) {
    throw new AgentError(
      `${file} is ${mode & 0o044 ? 'readable' : 'writable'} by other users (mode ${mode.toString(8)}): chmod 600 ${file}, or pass the code in OPENASSIST_ACTIVATION_CODE`,
    );
  }
  const code = (await readFile(file, 'utf8').catch(fail)).trim();
  if (!code) throw new AgentError(`the activation code file ${file} is empty`);
  return code;
}

/** Deletes the code file once registered: the code stays on disk no longer than it is needed. */
export async function forgetActivationCodeFile(
  config: Pick<AgentSettings, 'activationCodeFile'>,
): Promise<void> {
  if (config.activationCodeFile) await rm(config.activationCodeFile, { force: true });
}
