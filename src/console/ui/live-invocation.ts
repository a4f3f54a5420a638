import { useEffect, useState } from 'preact/hooks';
import { followInvocation, type RunStatusData } from '../../client/stream.js';
import { base64ToBytes } from './bytes.js';
import type { Session } from './session.js';

/** What one run (an instance's execution) has shown so far. */
export interface RunView {
  readonly execution: number;
  status: RunStatusData | undefined;
  text: string;
  /** Bytes received; output events at an offset already received are not shown twice. */
  bytes: number;
  /** Characters cut from the front to keep the page light (the download has everything). */
  cutChars: number;
  readonly decoder: TextDecoder;
}

export interface LiveInvocation {
  /** Runs by instance, then by execution (0: the instance's standing row; n: a schedule's runs). */
  readonly runs: ReadonlyMap<string, ReadonlyMap<number, RunView>>;
  /** The aggregate status once the stream has ended. */
  readonly endStatus: string | undefined;
  readonly error: unknown;
  /** Bumped on every status event, so the page can re-read what the stream does not carry. */
  readonly statusChanges: number;
  readonly retry: () => void;
}

// Enough to read along; the full output is one click away.
const keptChars = 256 * 1024;
// Output can arrive in many small events: render at most this often.
const renderEveryMs = 50;

function runOf(runs: Map<string, Map<number, RunView>>, instanceId: string, execution: number): RunView {
  let byExecution = runs.get(instanceId);
  if (!byExecution) {
    byExecution = new Map();
    runs.set(instanceId, byExecution);
  }
  let run = byExecution.get(execution);
  if (!run) {
    run = { execution, status: undefined, text: '', bytes: 0, cutChars: 0, decoder: new TextDecoder() };
    byExecution.set(execution, run);
  }
  return run;
}

function appendOutput(run: RunView, offset: number, bytes: Uint8Array): void {
  const fresh = offset < run.bytes ? bytes.subarray(run.bytes - offset) : bytes;
  if (fresh.length === 0) return;
  run.bytes = Math.max(run.bytes, offset) + fresh.length;
  run.text += run.decoder.decode(fresh, { stream: true });
  if (run.text.length > keptChars) {
    const cut = run.text.length - keptChars;
    run.text = run.text.slice(cut);
    run.cutChars += cut;
  }
}

/** Follows an invocation through StreamInvocationOutput (src/client/stream.ts) while the page is open. */
export function useLiveInvocation(session: Session, invokeId: string): LiveInvocation {
  const [runs] = useState(() => new Map<string, Map<number, RunView>>());
  const [, setRendered] = useState(0);
  const [endStatus, setEndStatus] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [statusChanges, setStatusChanges] = useState(0);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const render = () => {
      timer ??= setTimeout(() => {
        timer = undefined;
        setRendered((n) => n + 1);
      }, renderEveryMs);
    };
    (async () => {
      // followInvocation resumes dropped connections itself; a retry after it gave up starts over,
      // and appendOutput skips what was already shown.
      for await (const event of followInvocation(session, {
        invokeId,
        regionId: session.regionId,
        signal: abort.signal,
      })) {
        if (event.type === 'status') {
          runOf(runs, event.data.InstanceId, event.data.Execution).status = event.data;
          setStatusChanges((n) => n + 1);
        } else if (event.type === 'output') {
          const { InstanceId, Execution, Offset, Output } = event.data;
          appendOutput(runOf(runs, InstanceId, Execution), Offset, base64ToBytes(Output));
        } else {
          setEndStatus(event.data.InvocationStatus);
          setStatusChanges((n) => n + 1);
        }
        render();
      }
    })().catch((failure: unknown) => {
      if (!abort.signal.aborted) setError(failure);
    });
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [session, invokeId, attempt]);

  return {
    runs,
    endStatus,
    error,
    statusChanges,
    retry: () => {
      setError(undefined);
      setAttempt((n) => n + 1);
    },
  };
}
