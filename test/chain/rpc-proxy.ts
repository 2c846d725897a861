// A JSON-RPC proxy in front of anvil that can hold the API's eth_sendRawTransaction: `hold` keeps
// each such request unsent (then `release` sends them on, or `drop` discards them), `swallow` sends
// it to the node but never answers. With a SIGKILL of the API meanwhile, that is a crash between
// signing and broadcast, or just after broadcast. Closed (with its sockets) by stop().
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

type Mode = 'pass' | 'hold' | 'swallow';

export async function startRpcProxy(target: string) {
  let mode: Mode = 'pass';
  let held: { body: string; response: ServerResponse }[] = [];
  const sent: string[] = [];
  const forward = async (body: string, response: ServerResponse | null) => {
    const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const text = await answer.text();
    if (response && !response.destroyed) response.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
  };
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const { method, params } = JSON.parse(body);
      if (method === 'eth_sendRawTransaction') {
        if (mode === 'hold') {
          held.push({ body, response });
          return;
        }
        sent.push(params[0]);
        if (mode === 'swallow') {
          void forward(body, null);
          return;
        }
      }
      forward(body, response).catch(() => response.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    /** Raw transactions the node was sent through this proxy. */
    sent,
    /** How many sends are being held. */
    holding: () => held.length,
    setMode: (next: Mode) => void (mode = next),
    /** Sends the held requests on, answering each. */
    release: async () => {
      const now = held;
      held = [];
      for (const { body, response } of now) {
        sent.push(JSON.parse(body).params[0]);
        await forward(body, response);
      }
    },
    /** Forgets the held requests: those transactions never reach the node from here. */
    drop: () => {
      for (const { response } of held) response.destroy();
      held = [];
    },
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
