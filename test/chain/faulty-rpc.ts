// A JSON-RPC endpoint that fails the way real ones do: a 5xx, no answer at all, or an error
// answer, for the verifier's "the chain is unavailable" paths. Closed (with its sockets) by stop().
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault = 'http-502' | 'hang' | 'method-not-found';

export async function startFaultyRpc(fault: Fault) {
  let requests = 0;
  const server = createServer((request, response) => {
    requests++;
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (fault === 'hang') return;
      if (fault === 'http-502') {
        response.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
        return;
      }
      // The node names its chain (Base) but serves nothing else.
      const { id, method } = JSON.parse(body);
      if (method === 'eth_chainId') {
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id, result: '0x2105' }));
        return;
      }
      response.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32601, message: 'the method does not exist' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
