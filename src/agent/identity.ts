import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { errnoCode, isRecord } from '../guards.js';
import {
  deregisterPath,
  isRegisterResponse,
  parseRefusal,
  type RegisterRequest,
  registerPath,
} from '../protocol/messages.js';
import { certificateProblem } from './server-tls.js';

/** What an agent keeps after registering: its instance id and secret token (file mode 0600). */
export interface Identity {
  readonly instanceId: string;
  readonly token: string;
}

/** A registration or connection the server refused; the message says why and what to do. */
export class AgentError extends Error {
  override name = 'AgentError';
}

/** No server answered: worth retrying (a supervisor restarts the agent), unlike a refusal. */
export class ServerUnreachable extends AgentError {
  override name = 'ServerUnreachable';
}

/** The CA(s) a private-CA server is trusted with (`--ca`), for registration, channel and deregistration. */
export async function readCa(file: string): Promise<Buffer> {
  return readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new AgentError(`cannot read the CA file ${file}: ${error.code ?? error.message}`);
  });
}

const identityFile = (stateDir: string) => join(stateDir, 'identity.json');

export async function loadIdentity(stateDir: string): Promise<Identity | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(identityFile(stateDir), 'utf8'));
    if (isRecord(parsed) && typeof parsed.instanceId === 'string' && typeof parsed.token === 'string') {
      return { instanceId: parsed.instanceId, token: parsed.token };
    }
    throw new AgentError(`${identityFile(stateDir)} is damaged; remove it and register again`);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

export async function saveIdentity(stateDir: string, identity: Identity): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFile(identityFile(stateDir), `${JSON.stringify(identity, null, 2)}\n`, { mode: 0o600 });
  await chmod(identityFile(stateDir), 0o600);
}

/** Trades an activation for an identity (POST /agent/v1/register) at the first server that answers. */
export async function register(
  serverUrls: readonly string[],
  request: RegisterRequest,
  ca?: Buffer,
): Promise<Identity> {
  let answer: { status: number; body: string } | undefined;
  const unreachable: string[] = [];
  for (const serverUrl of serverUrls) {
    try {
      answer = await postJson(new URL(registerPath, serverUrl), JSON.stringify(request), ca);
      break;
    } catch (error) {
      // An untrusted certificate fails the handshake, before the activation code is sent.
      unreachable.push(certificateProblem(error, serverUrl) ?? `${serverUrl}: ${String(error)}`);
    }
  }
  if (!answer) throw new ServerUnreachable(`cannot reach a server to register (${unreachable.join('; ')})`);
  let body: unknown;
  try {
    body = JSON.parse(answer.body);
  } catch {
    // not JSON: reported below with the status
  }
  if (answer.status !== 200 || !isRegisterResponse(body)) {
    const refused = parseRefusal(answer.body);
    throw new AgentError(
      `registration refused: ${refused.Code ?? answer.status}: ${refused.Message ?? 'no details'}`,
    );
  }
  return { instanceId: body.instanceId, token: body.token };
}

/**
 * Ends this machine's registration (`openassist agent --deregister`, the uninstaller's): the server
 * removes the instance as DeregisterManagedInstance does, then the void identity is deleted.
 */
export async function deregister(
  stateDir: string,
  serverUrls: readonly string[],
  ca?: Buffer,
): Promise<string> {
  const identity = await loadIdentity(stateDir);
  if (!identity)
    throw new AgentError(`${identityFile(stateDir)} does not exist: this agent is not registered`);
  const headers = {
    'x-openassist-instance-id': identity.instanceId,
    authorization: `Bearer ${identity.token}`,
  };
  const problems: string[] = [];
  for (const serverUrl of serverUrls) {
    let answer: { status: number; body: string };
    try {
      answer = await postJson(new URL(deregisterPath, serverUrl), '{}', ca, headers);
    } catch (error) {
      problems.push(certificateProblem(error, serverUrl) ?? `${serverUrl}: ${String(error)}`);
      continue;
    }
    if (answer.status !== 200) {
      const code = parseRefusal(answer.body).Code ?? String(answer.status);
      throw new AgentError(`the server refused to deregister ${identity.instanceId}: ${code}`);
    }
    await rm(identityFile(stateDir), { force: true });
    return identity.instanceId;
  }
  throw new ServerUnreachable(`cannot reach a server to deregister (${problems.join('; ')})`);
}

// A registration answer is small and quick; a server that stalls must not hang the agent's start.
const registerTimeoutMs = 30_000;

/** POSTs JSON over http or https (trusting only `ca` when given) and reads the whole answer. */
function postJson(
  url: URL,
  json: string,
  ca: Buffer | undefined,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(json),
        },
        timeout: registerTimeoutMs,
        ...(ca && { ca }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error('the server did not answer in time')));
    request.on('error', reject);
    request.end(json);
  });
}
