import { createServer, type Server } from 'node:net';
import type { Command } from 'commander';
import { UserError } from '../errors.js';
import { PortRelay } from '../port-relay.js';
import { openSession, type SessionFlags, verb } from '../session.js';
import { endText, signalStatus, startTerminalSession } from '../start-session.js';

interface ForwardFlags extends SessionFlags {
  target?: string;
}

/** `LOCAL:REMOTE`, or one port for both; LOCAL 0 picks a free port. */
export function parsePorts(text: string): { local: number; remote: number } {
  const match = /^(?:(\d{1,5}):)?(\d{1,5})$/.exec(text);
  const remote = Number(match?.[2]);
  const local = match?.[1] === undefined ? remote : Number(match[1]);
  if (!match || local > 65535 || remote < 1 || remote > 65535)
    throw new UserError(
      `ports are LOCAL:REMOTE (LOCAL 0-65535, 0 for any free one; REMOTE 1-65535), not "${text}"`,
      2,
    );
  return { local, remote };
}

/** Listens on loopback only: the forwarded port is this user's, not the network's. */
function listen(port: number): Promise<Server> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'is already in use' : `cannot be listened on (${error.code})`;
      reject(new UserError(`127.0.0.1:${port} ${why}: choose another LOCAL port (0 picks a free one)`, 2));
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function forward(instanceId: string, ports: string, flags: ForwardFlags): Promise<void> {
  const { local, remote } = parsePorts(ports);
  const api = await openSession(flags);
  // The port first: a taken one fails before any session is opened.
  const server = await listen(local);
  const { sessionId, session } = await startTerminalSession(api, instanceId, {
    PortNumber: remote,
    TargetServer: flags.target,
  }).catch((error: unknown) => {
    server.close();
    throw error;
  });
  const relay = new PortRelay(session, (line) => process.stderr.write(`openassist: ${line}\n`));
  server.on('connection', (socket) => relay.accept(socket));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : local;
  process.stdout.write(
    `forwarding 127.0.0.1:${port} -> ${flags.target ?? 'localhost'}:${remote} on ${instanceId} (${sessionId}); Ctrl-C ends it\n`,
  );
  let signal: NodeJS.Signals | undefined;
  const stop = (received: NodeJS.Signals) => {
    signal = received;
    session.close();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const end = await session.ended;
  server.close();
  // Ctrl-C is the way to end it; anything else ended it under the user: say why, exit as ssh does.
  if (signal === 'SIGINT') process.exit(0);
  if (signal) process.exit(signalStatus(signal));
  process.stderr.write(`openassist: ${endText(sessionId, end)}\n`);
  process.exit(255);
}

/** `openassist port-forward mi-… LOCAL:REMOTE`: a port of the instance (or of a host it reaches) here. */
export function registerPortForward(program: Command): void {
  verb(
    program,
    'port-forward',
    'forward a local port to a port of an instance, or of a host it reaches (Ctrl-C ends it)',
    'openassist port-forward mi-… 8080:80\n  openassist port-forward mi-… 0:5432 --target db.internal',
  )
    .argument('<instance-id>', 'the instance whose agent connects')
    .argument('<ports>', 'LOCAL:REMOTE (LOCAL 0: any free port)')
    .option('--target <host>', 'connect to this host from the instance (default localhost)')
    .action((instanceId: string, ports: string, flags: ForwardFlags) => forward(instanceId, ports, flags));
}
