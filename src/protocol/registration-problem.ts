import { TypeCompiler } from '@sinclair/typebox/compiler';
import { RegisterRequestSchema } from './message-schemas.js';

// Server side only (the agent never loads TypeBox): compiled once, used for refused bodies alone.
const registerRequest = TypeCompiler.Compile(RegisterRequestSchema);

/**
 * What is wrong with a registration body that is not a `RegisterRequest`: the field (a JSON pointer
 * such as `/hostname`) and the rule it breaks. Never the value: the body holds the activation code.
 */
export function registerRequestProblem(value: unknown): string {
  const error = registerRequest.Errors(value).First();
  return error ? `${error.path || '/'}: ${error.message}` : 'none';
}
