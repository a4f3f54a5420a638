import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RegisterRequest, type RegisterResponse, registerPath } from '../protocol/messages.js';

/** What an agent keeps after registering: its instance id and secret token (file mode 0600). */
export interface Identity {
  readonly instanceId: string;
  readonly token: string;
}

/** A registration or connection the server refused; the message says why and what to do. */
export class AgentError extends Error {
  override name = 'AgentError';
}

const identityFile = (stateDir: string) => join(stateDir, 'identity.json');

export async function loadIdentity(stateDir: string): Promise<Identity | undefined> {
  try {
    const parsed = JSON.parse(await readFile(identityFile(stateDir), 'utf8')) as Partial<Identity>;
    if (typeof parsed.instanceId === 'string' && typeof parsed.token === 'string') {
      return { instanceId: parsed.instanceId, token: parsed.token };
    }
    throw new AgentError(`${identityFile(stateDir)} is damaged; remove it and register again`);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function saveIdentity(stateDir: string, identity: Identity): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(identityFile(stateDir), `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  await chmod(identityFile(stateDir), 0o600);
}

/** Trades an activation for an identity (POST /agent/v1/register) at the first server that answers. */
export async function register(serverUrls: readonly string[], request: RegisterRequest): Promise<Identity> {
  let response: Response | undefined;
  const unreachable: string[] = [];
  for (const serverUrl of serverUrls) {
    try {
      response = await fetch(new URL(registerPath, serverUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      break;
    } catch (error) {
      unreachable.push(`${serverUrl}: ${String((error as Error).cause ?? error)}`);
    }
  }
  if (!response) throw new AgentError(`cannot reach a server to register (${unreachable.join('; ')})`);
  const body = (await response.json().catch(() => ({}))) as Partial<RegisterResponse> & {
    Code?: string;
    Message?: string;
  };
  if (!response.ok || !body.instanceId || !body.token) {
    throw new AgentError(
      `registration refused: ${body.Code ?? response.status}: ${body.Message ?? 'no details'}`,
    );
  }
  return { instanceId: body.instanceId, token: body.token };
}
