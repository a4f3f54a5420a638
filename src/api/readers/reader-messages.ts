import { ApiError, type ErrorCode, errorCatalogue, isApiError } from '../../domain/errors.js';

/** Main thread → reader thread: one authorized call (`ReadRequest` with its params as entries). */
export interface ReadCall {
  readonly id: number;
  readonly action: string;
  readonly requestId: string;
  readonly regionId: string;
  readonly params: readonly (readonly [string, string])[];
  readonly format: 'JSON' | 'XML';
}

/**
 * Reader thread → main thread: the rendered answer as UTF-8 bytes (transferred, not copied, and
 * sent by the main thread as they are); the action's ApiError (code and message,
 * the status follows from the code); or `failed`, anything else: the main thread answers it itself.
 */
export type ReadReply =
  | { readonly id: number; readonly type: string; readonly body: Uint8Array }
  | { readonly id: number; readonly code: string; readonly message: string }
  | { readonly id: number; readonly failed: string };

/** What a reader thread is started with. */
export interface ReaderThreadData {
  readonly databasePath: string;
  /** Output shown per run (the main thread's `OutputLimits.shownBytes`). */
  readonly shownBytes: number;
  readonly cacheKiB: number;
}

/** The reply for a call that threw `error` on a reader thread. */
export function replyOfError(id: number, error: unknown): ReadReply {
  if (isApiError(error)) return { id, code: error.code, message: error.message };
  return { id, failed: error instanceof Error ? error.message : String(error) };
}

/** The ApiError a reader thread threw, as the main thread would have thrown it (same code, status, message). */
export function apiErrorOfReply(reply: { code: string; message: string }): ApiError {
  const known = Object.hasOwn(errorCatalogue, reply.code);
  const error = new ApiError(known ? (reply.code as ErrorCode) : 'InternalError');
  if (known) error.message = reply.message;
  return error;
}
