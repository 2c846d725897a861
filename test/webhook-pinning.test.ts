// Webhook delivery, run in Deno (the runtime it ships in): with the check on, the request connects
// only to the addresses that were checked, whatever DNS or a proxy in the environment would say.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { denoBinary, repoRoot } from '../scripts/lib/api.mjs';

/** Runs `code` as a Deno module with the repository's import map; resolves with its stdout. */
async function runInDeno(code: string, env: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'humanops-pin-'));
  try {
    const file = join(dir, 'pin.ts');
    await writeFile(file, code);
    const child = spawn(denoBinary(), [
      'run', '--node-modules-dir=manual', '--config', join(repoRoot, 'deno.json'), '--no-prompt',
      '--allow-net', '--allow-env', `--allow-read=${repoRoot},${dir}`, file,
    ], { cwd: repoRoot, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code_ = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code_ !== 0) throw new Error(`deno exited ${code_}: ${err.slice(-2000)}`);
    return out.trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

it('posts to the checked address even when the name resolves nowhere, and ignores HTTP(S)_PROXY', async () => {
  const received: { host?: string; path?: string; body: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ host: req.headers.host, path: req.url, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    // `.invalid` never resolves: only a connection pinned to the given address can arrive.
    const status = await runInDeno(`
      import { postPinned } from ${JSON.stringify(join(repoRoot, 'functions/_shared/webhooks.ts'))};
      console.log(await postPinned(new URL('http://hooks.example.invalid:${port}/pinned'), { 'Content-Type': 'application/json' },
        '{"event":"task.completed"}', AbortSignal.timeout(5000), ['127.0.0.1']));
    `, { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', http_proxy: 'http://127.0.0.1:9', https_proxy: 'http://127.0.0.1:9' });
    expect(status).toBe('204');
    expect(received).toEqual([{ host: `hooks.example.invalid:${port}`, path: '/pinned', body: '{"event":"task.completed"}' }]);
  } finally {
    server.close();
  }
});
