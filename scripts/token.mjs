#!/usr/bin/env node
// `npm run token -- <sub> [--expires 1h]`: an operator session token for the local stack, signed
// by the stack's own issuer (the key in <data dir>/issuer/, made on first use). Which data dir: the
// one of the stack `npm start` runs on HUMANOPS_PORT (54321) from this clone, whatever
// HUMANOPS_DATA_DIR it was given; else HUMANOPS_DATA_DIR; else the default. Only the token goes to
// stdout, so `TOKEN=$(npm run -s token -- op_jane)` works; hints go to stderr.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_AUTHORIZED_PARTY, LOCAL_ISSUER, defaultDataDir, mintOperatorToken } from './lib/issuer.mjs';
import { runningStack } from './lib/running.mjs';

const USAGE = `usage: npm run token -- <sub> [--expires <span>] [--azp <party>]

  <sub>              the operator's id (the token's "sub"), e.g. op_jane
  --expires, -e      lifetime as a time span: 30s, 15m, 1h, 7d (default 1h)
  --azp              authorized party (default ${LOCAL_AUTHORIZED_PARTY})

Data dir: that of the stack \`npm start\` runs on HUMANOPS_PORT (default 54321), else
HUMANOPS_DATA_DIR, else the one \`npm start\` would use.`;

const fail = (message) => {
  process.stderr.write(`${message}\n\n${USAGE}\n`);
  process.exit(2);
};

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      expires: { type: 'string', short: 'e', default: '1h' },
      azp: { type: 'string', default: LOCAL_AUTHORIZED_PARTY },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (error) {
  fail(error.message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (positionals.length !== 1 || positionals[0].trim() === '') fail('give exactly one subject');
const [sub] = positionals;
if (!/^\d+(\.\d+)?\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|week|weeks)$/i.test(values.expires)) {
  fail(`--expires: "${values.expires}" is not a time span like 30s, 15m, 1h or 7d`);
}

/** The running stack's data dir wins: a token signed with another key is refused as "unknown key". */
function chooseDataDir() {
  const port = Number(process.env.HUMANOPS_PORT ?? 54321);
  const stack = runningStack(port);
  if (!stack) return defaultDataDir();
  const given = process.env.HUMANOPS_DATA_DIR && resolve(process.env.HUMANOPS_DATA_DIR);
  if (given && given !== stack.dataDir) {
    process.stderr.write(`HUMANOPS_DATA_DIR is ${given}, but the stack on port ${port} runs with ${stack.dataDir}: signing with the running stack's issuer\n`);
  }
  return stack.dataDir;
}

try {
  const dir = chooseDataDir();
  const token = await mintOperatorToken({ dir, sub, expiresIn: values.expires, azp: values.azp });
  process.stdout.write(`${token}\n`);
  process.stderr.write(
    `operator token for sub=${sub}, valid ${values.expires} (iss ${LOCAL_ISSUER}, azp ${values.azp}, key in ${dir}/issuer)\n` +
      'use it as: -H "Authorization: Bearer $TOKEN"\n',
  );
} catch (error) {
  process.stderr.write(`cannot mint a token: ${error.message}\n`);
  process.exit(1);
}
