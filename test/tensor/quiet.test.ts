/**
 * tfjs's cpu-backend "install our node backend" banner: printed by a fresh process on its first tensor, not
 * after quietCpuBanner(), which leaves the PROD flag (and so every other tfjs warning) as it was. Fresh child
 * processes, since this test process already ran the mocha set-up's quietCpuBanner.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as path from 'path';
import { REPO } from '../helpers/paths';

function child(quiet: boolean): { stderr: string; stdout: string } {
  const src = [
    "const tf = require('@tensorflow/tfjs');",
    quiet ? `require(${JSON.stringify(path.join(REPO, 'src', 'tensor', 'quiet.ts'))}).quietCpuBanner();` : '',
    "const t = tf.tensor1d([1, 2]); console.log(t.sum().dataSync()[0], tf.getBackend(), tf.env().getBool('PROD'));",
  ].join('\n');
  const r = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', src], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { stderr: r.stderr, stdout: r.stdout };
}

describe('tensor/quiet: the tfjs cpu banner', function () {
  this.timeout(120_000);
  it('a fresh process prints it on the first tensor; after quietCpuBanner() it does not, and PROD is still false', () => {
    expect(child(false).stderr).to.contain('Hi, looks like you are running TensorFlow.js in Node.js');
    const q = child(true);
    expect(q.stderr).to.not.contain('Hi, looks like');
    expect(q.stdout.trim()).to.equal('3 cpu false');
  });
});
