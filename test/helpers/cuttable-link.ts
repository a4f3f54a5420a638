import { connect, createServer, type Socket } from 'node:net';

/** A TCP link between agents and a server that a test can cut like a pulled cable, then restore. */
export interface CuttableLink {
  /** `http://127.0.0.1:PORT`: give it to the agent as its server. */
  readonly url: string;
  /** Nothing passes any more, in either direction, and neither end is told. */
  cut(): void;
  /** Traffic flows again; connections from before or during the cut are reset, as a far end that forgot them would. */
  restore(): void;
  close(): Promise<void>;
}

/** One accepted connection and, while the link is up, its connection to the server. */
interface Pair {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** Opened or alive during a cut: dead for good once the link returns. */
  stale: boolean;
}

export async function startCuttableLink(target: { host: string; port: number }): Promise<CuttableLink> {
  let down = false;
  const pairs = new Set<Pair>();
  const end = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream?.destroy();
  };
  const server = createServer((client) => {
    const pair: Pair = { client, upstream: undefined, stale: down };
    pairs.add(pair);
    client.on('error', () => undefined);
    // While the link is down a close goes nowhere: the other end keeps its socket until it gives up.
    client.on('close', () => {
      if (!down) end(pair);
    });
    if (down) return;
    const upstream = connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (!down) end(pair);
    });
    client.on('data', (data: Buffer) => {
      if (!down) upstream.write(data);
    });
    upstream.on('data', (data: Buffer) => {
      if (!down) client.write(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the link has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    cut() {
      down = true;
      for (const pair of pairs) pair.stale = true;
    },
    restore() {
      down = false;
      for (const pair of [...pairs]) if (pair.stale) end(pair);
    },
    async close() {
      for (const pair of [...pairs]) end(pair);
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
