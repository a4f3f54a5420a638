import { useState } from 'preact/hooks';
import { AuditPage } from './audit-page.js';
import { CommandsPage } from './commands-page.js';
import { FilePage } from './file-page.js';
import { FilesPage } from './files-page.js';
import { InstancePage } from './instance-page.js';
import { InstancesPage } from './instances-page.js';
import { InvocationPage } from './invocation-page.js';
import { InvocationsPage } from './invocations-page.js';
import { hrefOf, type Route, sectionOf, useRoute } from './router.js';
import { clearSession, loadSession, type Session, saveSession } from './session.js';
import { SessionPage } from './session-page.js';
import { SessionsPage } from './sessions-page.js';
import { SignIn } from './sign-in.js';

const sections: readonly { readonly route: Route; readonly label: string }[] = [
  { route: { page: 'instances' }, label: 'Instances' },
  { route: { page: 'commands' }, label: 'Commands' },
  { route: { page: 'invocations' }, label: 'Invocations' },
  { route: { page: 'files' }, label: 'Files' },
  { route: { page: 'sessions' }, label: 'Sessions' },
  { route: { page: 'audit' }, label: 'Audit' },
];

function Page({ route, session }: { readonly route: Route; readonly session: Session }) {
  switch (route.page) {
    case 'commands':
      return <CommandsPage session={session} />;
    case 'invocations':
      return <InvocationsPage session={session} />;
    case 'invocation':
      return <InvocationPage session={session} invokeId={route.invokeId} />;
    case 'files':
      return <FilesPage session={session} />;
    case 'file':
      return <FilePage session={session} invokeId={route.invokeId} />;
    case 'instance':
      return <InstancePage session={session} instanceId={route.instanceId} />;
    case 'sessions':
      return <SessionsPage session={session} instanceId={route.instanceId} />;
    case 'session':
      return <SessionPage session={session} sessionId={route.sessionId} />;
    case 'audit':
      return <AuditPage session={session} />;
    default:
      return <InstancesPage session={session} />;
  }
}

export function App() {
  const [session, setSession] = useState(loadSession);
  const route = useRoute();

  if (!session) {
    return (
      <SignIn
        onSignedIn={(signedIn) => {
          saveSession(signedIn);
          setSession(signedIn);
        }}
      />
    );
  }

  const current = sectionOf(route);
  const switchRegion = (regionId: string) => {
    const next = { ...session, regionId };
    saveSession(next);
    setSession(next);
  };

  return (
    <>
      {/* A button, not a #main link: the fragment is the page's route. */}
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">OpenAssist</span>
        <nav aria-label="Sections">
          <ul>
            {sections.map(({ route: target, label }) => (
              <li key={label}>
                <a href={hrefOf(target)} aria-current={current === target.page ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {session.regions.length > 1 ? (
            <label>
              Region{' '}
              <select value={session.regionId} onChange={(event) => switchRegion(event.currentTarget.value)}>
                {session.regions.map((region) => (
                  <option key={region}>{region}</option>
                ))}
              </select>
            </label>
          ) : (
            <span>{session.regionId}</span>
          )}
          <span class="key-id" title="Access key ID">
            {session.accessKeyId}
          </span>
          <button
            type="button"
            onClick={() => {
              clearSession();
              setSession(undefined);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {/* A new key per region and page: everything reloads for the region it shows. */}
        <Page key={`${session.regionId} ${hrefOf(route)}`} route={route} session={session} />
      </main>
    </>
  );
}
