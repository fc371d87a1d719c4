'use strict';
/**
 * Child process of tools/native/install.js: loads tfjs-node from ABE_NATIVE_DIR (or node_modules) through
 * abe-clip's own initBackend, checks that it registered into our tfjs-core and computes a known product on
 * it, then prints the BackendInfo as one JSON line. Exit 1 with a one-line reason otherwise.
 */
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const compiled = path.join(root, 'dist', 'src', 'backend.js');
let backend, probe;
if (fs.existsSync(compiled) && process.env.ABE_CLIP_FROM_SRC !== '1') {
  backend = require(compiled);
  probe = require(path.join(root, 'dist', 'src', 'backends', 'probe.js'));
} else {
  require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.json') });
  backend = require(path.join(root, 'src', 'backend.ts'));
  probe = require(path.join(root, 'src', 'backends', 'probe.ts'));
}
const tf = require(require.resolve('@tensorflow/tfjs', { paths: [root] }));

(async () => {
  const info = await backend.initBackend({ backend: 'tfjs-node', source: 'tools/native/verify' });
  if (tf.getBackend() !== 'tensorflow') throw new Error(`our tfjs runs on '${tf.getBackend()}', not 'tensorflow'`);
  probe.checkKnownProduct();
  process.stdout.write(JSON.stringify({ name: info.name, version: info.version, device: info.device.summary }) + '\n');
})().catch((e) => {
  process.stderr.write(`${String((e && e.message) || e).split('\n')[0]}\n`);
  process.exit(1);
});
