import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from './api.js';
import type { Session } from './session.js';
import type { FrequencyPreviewResponse } from './wire.js';

type Preview =
  | { readonly state: 'idle' }
  | { readonly state: 'ok'; readonly response: FrequencyPreviewResponse }
  | { readonly state: 'error'; readonly message: string };

// Wait for a pause in typing before asking the server.
const typingPauseMs = 300;

/** The next runs of a Frequency as the server reads it (DescribeFrequencyPreview), kept live while typing. */
export function FrequencyPreview({
  session,
  frequency,
  timeoutSeconds,
  id,
}: {
  readonly session: Session;
  readonly frequency: string;
  readonly timeoutSeconds: string;
  readonly id: string;
}) {
  const [preview, setPreview] = useState<Preview>({ state: 'idle' });
  useEffect(() => {
    const text = frequency.trim();
    if (!text) {
      setPreview({ state: 'idle' });
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      call<FrequencyPreviewResponse>(session, 'DescribeFrequencyPreview', {
        Frequency: text,
        Count: 5,
        Timeout: timeoutSeconds || undefined,
        TimeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      }).then(
        (response) => current && setPreview({ state: 'ok', response }),
        (error: unknown) => current && setPreview({ state: 'error', message: describeError(error) }),
      );
    }, typingPauseMs);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [session, frequency, timeoutSeconds]);

  return (
    <div id={id} class="preview span-2" aria-live="polite">
      {preview.state === 'idle' && <p class="hint">Next runs appear here.</p>}
      {preview.state === 'error' && <p class="error">{preview.message}</p>}
      {preview.state === 'ok' && (
        <>
          <p class="hint">
            Next runs ({preview.response.Kind}, {preview.response.TimeZone}):
          </p>
          <ol class="next-runs">
            {preview.response.NextRunTimes.NextRunTime.map((run) => (
              <li key={run.Utc}>
                <time dateTime={run.Utc}>{run.Local}</time>
              </li>
            ))}
          </ol>
        </>
      )}
    </div>
  );
}
