// Where a running `npm start` says what it is: one small file per API port under the clone's
// `.humanops/running/`, written when the stack is ready and removed when it stops. `npm run token`
// reads it to sign with the running stack's issuer key, whatever HUMANOPS_DATA_DIR the stack was
// given; `npm run usdc` reads it to find the local chain.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './api.mjs';

const folder = join(repoRoot, '.humanops', 'running');
const fileFor = (apiPort) => join(folder, `${Number(apiPort)}.json`);

/** Records the stack serving on `apiPort`: `{ pid, dataDir, apiUrl, jwksUrl, chain? }`. */
export function recordRunningStack(apiPort, info) {
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  writeFileSync(fileFor(apiPort), JSON.stringify({ pid: process.pid, ...info }), { mode: 0o600 });
}

export function forgetRunningStack(apiPort) {
  rmSync(fileFor(apiPort), { force: true });
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};

/** The stack `npm start` runs on `apiPort` from this clone, or null when none does. */
export function runningStack(apiPort) {
  try {
    const info = JSON.parse(readFileSync(fileFor(apiPort), 'utf8'));
    return Number.isInteger(info.pid) && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}
