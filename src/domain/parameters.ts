import { ApiError } from './errors.js';

// Limits from the CreateCommand reference: at most 20 custom parameters, names at most 64 characters.
export const maxParameterNames = 20;
export const maxParameterNameLength = 64;

const placeholder = /\{\{([^{}]*)\}\}/g;
const validName = /^[A-Za-z0-9_-]+$/;
// Built-in environment parameters ({{ACS::InstanceId}}) and Parameter Store references
// ({{oos:name}}, {{oos-secret:name}}) are filled by the system, not by the caller.
const systemPrefixes = ['ACS::', 'oos:', 'oos-secret:'];

/**
 * The custom `{{name}}` placeholders of a script as written (trimmed), in order of first use, once
 * each and unchecked: what the console asks values for while a script is typed.
 */
export function placeholderNames(script: string): string[] {
  const names = new Set<string>();
  for (const match of script.matchAll(placeholder)) {
    const name = (match[1] ?? '').trim();
    if (!systemPrefixes.some((prefix) => name.startsWith(prefix))) names.add(name);
  }
  return [...names];
}

/** The custom parameter names used as `{{name}}` in a script, in order of first use. */
export function extractParameterNames(script: string): string[] {
  const names = placeholderNames(script);
  for (const name of names) {
    if (name === '')
      throw new ApiError('CmdParam.EmptyKey', 'The script contains an empty {{}} placeholder.');
    if (Buffer.byteLength(name) > maxParameterNameLength) {
      throw new ApiError('CmdParamName.ExceedLimit', `"${name.slice(0, 80)}…" is longer than 64 characters.`);
    }
    if (!validName.test(name)) throw new ApiError('CmdParam.InvalidParamName', `Invalid name: "${name}".`);
  }
  if (names.length > maxParameterNames) {
    throw new ApiError(
      'CmdParamCount.ExceedLimit',
      `The script uses ${names.length} parameters; at most 20.`,
    );
  }
  return names;
}
