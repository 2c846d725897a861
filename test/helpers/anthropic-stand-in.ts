// A local stand-in for Anthropic's Messages API (what the SDK's baseURL points at in tests): it
// records every request and answers with whatever the test scripts.
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
}

/** What the stand-in answers; `delayMs` holds the answer back that long (a slow model). */
export type Answer = (request: RecordedRequest) => { status: number; body: unknown; headers?: Record<string, string>; delayMs?: number };

export interface StandIn {
  url: string;
  requests: RecordedRequest[];
  answer: Answer;
  stop(): Promise<void>;
}

/** A Messages API response that calls the verdict tool with `input`. */
export const toolAnswer = (input: unknown) => ({
  status: 200,
  body: {
    id: 'msg_standin', type: 'message', role: 'assistant', model: 'claude-test',
    content: [{ type: 'tool_use', id: 'toolu_1', name: 'record_verdict', input }],
    stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 10 },
  },
});

export async function startAnthropicStandIn(): Promise<StandIn> {
  const standIn: StandIn = {
    url: '',
    requests: [],
    answer: () => ({ status: 500, body: { type: 'error', error: { type: 'api_error', message: 'no answer scripted' } } }),
    stop: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      const request = { path: req.url ?? '', headers: req.headers, body: raw ? JSON.parse(raw) : null };
      standIn.requests.push(request);
      const { status, body, headers, delayMs = 0 } = standIn.answer(request);
      setTimeout(() => {
        if (res.destroyed) return; // the caller gave up waiting
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  standIn.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  standIn.stop = () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); });
  return standIn;
}
