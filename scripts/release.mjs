#!/usr/bin/env node
// `npm run release`: builds @humanops/sdk and @humanops/mcp, packs them, lints the tarballs
// (publint; "are the types wrong" in every resolution mode), installs them in an empty folder as a
// user would get them, and runs their smoke tests there against a throwaway local stack: the SDK in
// Node (ES module and CommonJS), Deno and Chromium; the MCP server over stdio, started with
// `npx @humanops/mcp` (initialize, tools/list, one call).
//
// `npm run release -- --publish` then publishes exactly the tarballs it checked: the SDK first,
// since the MCP server depends on it (add --dry-run to see what would be sent). Needs `npm login`.
// `--api-url <origin>` runs the smoke tests against that API instead of a throwaway stack.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './lib/api.mjs';
import {
  CHROMIUM, install, lint, LINT_EXCEPTIONS, pack, removeDir, smokeBrowser, smokeDeno, smokeMcp, smokeNodeCjs, smokeNodeEsm, tempDir,
} from './lib/packages.mjs';
import { freePort } from './lib/ports.mjs';

const run = promisify(execFile);
const args = process.argv.slice(2);
const publish = args.includes('--publish');
const dryRun = args.includes('--dry-run');
const apiUrlAt = args.indexOf('--api-url');
const say = (line) => process.stdout.write(`${line}\n`);

/** `npm start` in a throwaway data dir on free ports; resolves with its origin and a stop(). */
async function throwawayStack() {
  const dataDir = await tempDir('humanops-release-stack-');
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'scripts/stack.mjs')], {
    cwd: repoRoot,
    env: {
      ...process.env, HUMANOPS_DATA_DIR: dataDir, HUMANOPS_PORT: String(port), HUMANOPS_DB_PORT: String(await freePort()),
      HUMANOPS_ISSUER_PORT: '0', HUMANOPS_REFERENCE_PORT: '0', HUMANOPS_MODE: 'test',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let output = '';
  await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk;
      if (/HumanOps is ready/.test(output)) resolve();
      if (/HumanOps failed to start/.test(output)) reject(new Error(output));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', () => reject(new Error(`the stack exited:\n${output}`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      await removeDir(dataDir);
    },
  };
}

const work = await tempDir('humanops-release-');
let stack;
try {
  say('building');
  await run('npm', ['run', 'build'], { cwd: repoRoot });
  const tarballs = await pack(work);
  for (const [name, tarball] of Object.entries(tarballs)) {
    const problems = await lint(tarball, { ignore: LINT_EXCEPTIONS[name] });
    if (problems.length) throw new Error(`${name}: ${problems.join('\n')}`);
    say(`lint       ${tarball.split('/').pop()}: publint and attw clean`);
  }
  const consumer = join(work, 'consumer');
  await run('mkdir', ['-p', consumer]);
  await install(tarballs, consumer);
  say(`installed  both tarballs in ${consumer}`);

  stack = apiUrlAt >= 0 ? { origin: args[apiUrlAt + 1], stop: async () => {} } : await throwawayStack();
  if (!existsSync(CHROMIUM)) throw new Error(`the browser smoke test needs ${CHROMIUM} (apt-get install chromium)`);
  for (const [label, smoke] of [['node esm', smokeNodeEsm], ['node cjs', smokeNodeCjs], ['deno', smokeDeno], ['chromium', smokeBrowser], ['mcp stdio', smokeMcp]]) {
    const result = await smoke(consumer, stack.origin);
    const passed = label === 'mcp stdio'
      ? result.tools.includes('get_balance') && result.balance?.currency === 'USD' && !result.isError
      : result.status === 201 && result.listed === 2 && result.page && result.notFound && result.e2ee && !(result.errors ?? []).length;
    if (!passed) throw new Error(`${label} smoke test: ${JSON.stringify(result)}`);
    say(`smoke      ${label.padEnd(9)} ok`);
  }

  if (publish) {
    // The SDK first: `npx @humanops/mcp` installs it from the registry.
    for (const name of ['sdk', 'mcp']) {
      await run('npm', ['publish', tarballs[name], '--access', 'public', ...(dryRun ? ['--dry-run'] : [])], { cwd: repoRoot });
      say(`${dryRun ? 'would publish' : 'published'}  ${tarballs[name].split('/').pop()}`);
    }
  }
  say('release checks passed');
} catch (error) {
  say(`release checks failed: ${error.message}`);
  process.exitCode = 1;
} finally {
  await stack?.stop();
  await removeDir(work);
}
