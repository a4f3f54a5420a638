import type { Credentials } from '../../client/sign.js';

/** Who is signed in: the key, the region used for every call. Kept for this tab only. */
export interface Session extends Credentials {
  readonly regionId: string;
  /** Every region the endpoint serves, for the region switch. */
  readonly regions: readonly string[];
}

// sessionStorage, not localStorage: the secret leaves with the tab and is never sent anywhere.
const storageKey = 'openassist.session';

export function loadSession(): Session | undefined {
  const text = sessionStorage.getItem(storageKey);
  if (!text) return undefined;
  try {
    // Written by saveSession in this tab only (sessionStorage): a Session.
    const saved = JSON.parse(text) as Omit<Session, 'endpoint'>;
    // The endpoint is always this page's origin, whatever was stored.
    return { ...saved, endpoint: location.origin };
  } catch {
    sessionStorage.removeItem(storageKey);
    return undefined;
  }
}

export function saveSession(session: Session): void {
  const { endpoint: _endpoint, ...kept } = session;
  sessionStorage.setItem(storageKey, JSON.stringify(kept));
}

export function clearSession(): void {
  sessionStorage.removeItem(storageKey);
}
