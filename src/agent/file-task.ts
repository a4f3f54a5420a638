import { writeFileSync } from 'node:fs';
import { runError } from '../domain/run-errors.js';
import type { FileTask } from '../protocol/messages.js';
import { downloadInto, FileDownloadError, type FileDownloadRequest } from './file-download.js';
import { bytesSource, type ContentSource, placeFile } from './file-writer.js';
import { exceptionOutcome, maxTimerMs, type RunEvents, type RunHandle, type RunOutcome } from './runner.js';

export interface FileTaskOptions {
  /** Names the temporary file: the invoke id, and the execution when not 0. */
  readonly runId: string;
  readonly timeoutSeconds: number;
  readonly platform?: NodeJS.Platform;
  /**
   * Test-only (OPENASSIST_TEST_FILE_WRITE_PAUSE): after half the content, create this file and
   * wait for the run's end, so a test can kill the agent in the middle of a write; after half a
   * download, create it and wait until it is removed, so a test can drop the connection.
   */
  readonly pauseMarker?: string | undefined;
  /** Where a file sent as an upload is downloaded from, with the agent's own credentials. */
  readonly server?: FileServer | undefined;
}

/** The server a download comes from and how the agent signs in there: as for its channel. */
export type FileServer = Pick<FileDownloadRequest, 'serverUrl' | 'instanceId' | 'token' | 'ca'>;

/** Where a file task's bytes come from: the one source it names. */
function sourceOf(file: FileTask, options: FileTaskOptions): ContentSource {
  const { pauseMarker, server } = options;
  if (file.download !== undefined && server !== undefined) {
    const download = { ...file.download, ...server, pauseMarker };
    return (handle, signal) => downloadInto(download, handle, signal);
  }
  if (file.content === undefined) throw new Error('the file task names no content source this agent knows');
  const bytes = Buffer.from(file.content, 'base64');
  if (pauseMarker === undefined) return bytesSource(bytes);
  return async (handle, signal) => {
    await handle.writeFile(bytes.subarray(0, bytes.length >> 1));
    await handle.sync();
    writeFileSync(pauseMarker, '');
    await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  };
}

/**
 * A file task as a run: started at once, ended by the placement's outcome, `Timeout` when it
 * takes longer than the task's timeout, `Terminated` when stopped (its temporary file removed
 * either way, the target untouched).
 */
export function runFileTask(file: FileTask, options: FileTaskOptions, events: RunEvents): RunHandle {
  const abort = new AbortController();
  let reason: 'timeout' | 'stop' | undefined;
  const timer = setTimeout(
    () => {
      reason ??= 'timeout';
      abort.abort(new Error('the file task timed out'));
    },
    Math.min(options.timeoutSeconds * 1000, maxTimerMs),
  );
  events.onStart?.(undefined);
  const done = (async (): Promise<RunOutcome> => {
    try {
      return await placeFile(file, sourceOf(file, options), {
        runId: options.runId,
        signal: abort.signal,
        ...(options.platform !== undefined && { platform: options.platform }),
      });
    } catch (error) {
      if (reason === 'timeout') return { status: 'Timeout', exitCode: null, ...runError('ExecutionTimeout') };
      if (reason === 'stop') return { status: 'Terminated', exitCode: null, errorCode: '', errorInfo: '' };
      if (error instanceof FileDownloadError) {
        return { status: 'Failed', exitCode: null, ...runError(error.code, error.message) };
      }
      return exceptionOutcome(error);
    } finally {
      clearTimeout(timer);
    }
  })();
  return {
    done,
    stop: () => {
      reason ??= 'stop';
      abort.abort(new Error('the file task was stopped'));
    },
  };
}
