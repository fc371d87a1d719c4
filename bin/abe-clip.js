#!/usr/bin/env node
'use strict';
// Runs the compiled CLI (dist/, built by `npm run build`, which `npm ci` runs through `prepare`), or the
// TypeScript sources through ts-node when dist is missing or ABE_CLIP_FROM_SRC=1 (development).
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'src', 'cli', 'main.js');
let entry = compiled;
if (process.env.ABE_CLIP_FROM_SRC === '1' || !fs.existsSync(compiled)) {
  // Through the environment too, so worker threads that register ts-node find the project's settings.
  process.env.TS_NODE_PROJECT = path.join(root, 'tsconfig.json');
  process.env.TS_NODE_TRANSPILE_ONLY = 'true';
  try {
    require('ts-node').register({ transpileOnly: true, project: process.env.TS_NODE_PROJECT });
  } catch (e) {
    process.stderr.write('abe-clip: error: dist/ is missing and ts-node is not installed; run `npm run build` first\n');
    process.exit(1);
  }
  entry = path.join(root, 'src', 'cli', 'main.ts');
}
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
