import { useState } from 'preact/hooks';
import { invoke } from '../../client/api.js';
import { ErrorNote } from './components.js';
import type { Session } from './session.js';
import type { DescribeRegionsResponse } from './wire.js';

/**
 * Signs in by making one signed call (DescribeRegions) with the key: the secret only ever signs
 * requests here in the page, and a wrong key shows the API's own refusal.
 */
export function SignIn({ onSignedIn }: { readonly onSignedIn: (session: Session) => void }) {
  const [keyId, setKeyId] = useState('');
  const [secret, setSecret] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  // Web Crypto exists only in secure contexts: HTTPS, or http on localhost/127.0.0.1.
  const canSign = typeof crypto !== 'undefined' && crypto.subtle !== undefined;

  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const credentials = { endpoint: location.origin, accessKeyId: keyId.trim(), accessKeySecret: secret };
    try {
      const { Regions } = await invoke<DescribeRegionsResponse>(credentials, 'DescribeRegions', {});
      const regions = Regions.Region.map((region) => region.RegionId);
      onSignedIn({ ...credentials, regions, regionId: regions[0] ?? 'cn-hangzhou' });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="sign-in">
      <h1>OpenAssist console</h1>
      <p>
        Sign in with an access key of this server. The secret stays in this browser tab: it signs each request
        here and is never sent.
      </p>
      {!canSign && (
        <p class="error" role="alert">
          This browser cannot sign requests on this page: Web Crypto needs HTTPS, or http on localhost.
        </p>
      )}
      <form onSubmit={submit}>
        <label for="access-key-id">Access key ID</label>
        <input
          id="access-key-id"
          name="access-key-id"
          autoComplete="username"
          required
          value={keyId}
          onInput={(event) => setKeyId(event.currentTarget.value)}
        />
        <label for="access-key-secret">Access key secret</label>
        <input
          id="access-key-secret"
          name="access-key-secret"
          type="password"
          autoComplete="current-password"
          required
          value={secret}
          onInput={(event) => setSecret(event.currentTarget.value)}
        />
        <button type="submit" class="primary" disabled={busy || !canSign}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorNote error={error} />
    </main>
  );
}
