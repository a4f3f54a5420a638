import { AgentError } from '../agent/identity.js';
import { ApiCallError, UnreachableError } from '../client/api.js';
import { ConfigError } from '../config.js';

/** A mistake the CLI explains itself, in one line, ending with this exit status. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly status = 1,
  ) {
    super(message);
  }
}

type Errno = NodeJS.ErrnoException & { address?: string; port?: number };

const isErrno = (error: unknown): error is Errno =>
  error instanceof Error &&
  'code' in error &&
  typeof error.code === 'string' &&
  'syscall' in error &&
  typeof error.syscall === 'string';

/**
 * The one line and exit status for an expected error: an API refusal (1), a configuration or usage
 * mistake (2), a port already taken (2), a file or the network failing (1). Undefined for anything
 * else, a bug, whose stack is worth printing.
 */
export function explainError(error: unknown): { message: string; status: number } | undefined {
  if (error instanceof ApiCallError) {
    const request = error.requestId ? ` (RequestId ${error.requestId})` : '';
    return { message: `${error.code}: ${error.serverMessage}${request}`, status: 1 };
  }
  if (error instanceof UserError) return { message: error.message, status: error.status };
  if (error instanceof ConfigError || error instanceof AgentError)
    return { message: error.message, status: 2 };
  if (error instanceof UnreachableError) {
    return {
      message: `${error.message} (is the server running? the endpoint comes from --endpoint, OPENASSIST_ENDPOINT, the profile or --data)`,
      status: 1,
    };
  }
  if (isErrno(error) && error.syscall === 'listen') {
    const where = error.port === undefined ? (error.address ?? '') : `${error.address}:${error.port}`;
    const why =
      error.code === 'EADDRINUSE'
        ? 'is already in use (another openassist?)'
        : error.code === 'EACCES'
          ? 'needs privileges this user lacks'
          : `cannot be listened on (${error.code})`;
    return {
      message: `${where} ${why}: choose another address with --listen HOST:PORT (or OPENASSIST_LISTEN)`,
      status: 2,
    };
  }
  if (isErrno(error)) return { message: error.message, status: 1 };
  return undefined;
}
