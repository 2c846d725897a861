// What `npm run build` builds, step by step, for `npm start` to build a fresh clone with progress.
import { join } from 'node:path';
import { repoRoot } from './api.mjs';

export const APP_DIST = join(repoRoot, 'app', 'dist');

export const buildSteps = [
  { name: 'the SDK', args: ['run', '-s', 'build', '-w', '@humanops/sdk'] },
  { name: 'the MCP server', args: ['run', '-s', 'build', '-w', '@humanops/mcp'] },
  { name: 'the operator app', args: ['run', '-s', 'build', '-w', '@humanops/app'] },
];
