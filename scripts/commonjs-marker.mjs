#!/usr/bin/env node
// Marks a build folder as CommonJS (`{"type":"commonjs"}`), so that inside a `"type": "module"`
// package Node loads its .js files, and TypeScript reads its .d.ts files, as CommonJS.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) throw new Error('usage: commonjs-marker.mjs <dir>');
writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
