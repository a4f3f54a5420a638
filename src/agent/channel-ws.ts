import { createRequire } from 'node:module';
import type * as Ws from 'ws';
import { maxFrameBytes } from '../protocol/messages.js';
import type { ChannelSocket, OpenSocket } from './channel.js';
import { rotatingLookup } from './server-rotation.js';
import { readSmallBody } from './server-tls.js';

// CommonJS packages are required, not imported: an import makes Node 20 scan each file's source for
// its export names; on ws's 130 KB that scanner gets optimized, and the optimizing compiler's memory
// stayed with the idle agent (about 4 MiB). The assertion: require() answers `any`.
const { WebSocket } = createRequire(import.meta.url)('ws') as typeof Ws;

export interface WsOptions {
  readonly instanceId: string;
  readonly token: string;
  /** With --ca, only that CA is trusted for wss:// servers. */
  readonly ca?: Buffer;
  /**
   * Frames go out at the end of the event loop's turn: the load generator's thousand identities
   * whose schedules are due at one instant all fire first, instead of each waiting behind the
   * others' writes.
   */
  readonly sendPerTurn?: boolean;
}

/** Opens the channel's connections as `ws` WebSockets, authenticated as the instance. */
export function wsSockets(options: WsOptions): OpenSocket {
  const headers = {
    'x-openassist-instance-id': options.instanceId,
    authorization: `Bearer ${options.token}`,
  };
  return ({ url, addressTurn }, events) => {
    const ws = new WebSocket(url, {
      headers,
      maxPayload: maxFrameBytes,
      perMessageDeflate: false,
      lookup: rotatingLookup(addressTurn),
      ...(options.ca && { ca: options.ca }),
    });
    ws.on('open', events.opened);
    ws.on('ping', events.pinged);
    ws.on('message', (data) => events.message(data.toString()));
    ws.on('unexpected-response', (_request, response) => {
      void readSmallBody(response).then((body) => {
        events.refused(response.statusCode ?? 0, response.headers['retry-after'], body);
        ws.terminate();
      });
    });
    ws.on('error', events.failed);
    ws.on('close', (code, reason) => events.closed(code, reason.toString()));
    return options.sendPerTurn ? sendingPerTurn(ws) : ws;
  };
}

function sendingPerTurn(ws: Ws.WebSocket): ChannelSocket {
  let outbox: string[] = [];
  return {
    send(text) {
      outbox.push(text);
      if (outbox.length > 1) return;
      setImmediate(() => {
        const frames = outbox;
        outbox = [];
        if (ws.readyState !== WebSocket.OPEN) return;
        for (const frame of frames) ws.send(frame);
      });
    },
    close: (code, reason) => ws.close(code, reason),
    terminate: () => ws.terminate(),
  };
}
