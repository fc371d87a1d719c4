import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import * as fs from 'fs';
import * as path from 'path';
import { autoSkipReason, backendInfo, BackendInfo, BACKEND_NAMES, deviceReport, initBackend } from '../src/backend';
import { AUTO_ORDER } from '../src/backends/names';
import { nativeDir } from '../src/backends/tfjs-node';
import { OptionsError, UsageError } from '../src/errors';

/** Whether a native package is present by either install route (node_modules, or `npm run native`'s prefix). */
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    /* not in node_modules */
  }
  return fs.existsSync(path.join(nativeDir(), 'node_modules', ...pkg.split('/'), 'package.json'));
}

describe('backend selection', () => {
  let prev: string;
  let prevEnv: string | undefined;
  before(async () => {
    await tf.ready();
    prev = tf.getBackend();
    prevEnv = process.env.ABE_BACKEND;
  });
  after(async () => {
    if (prevEnv === undefined) delete process.env.ABE_BACKEND;
    else process.env.ABE_BACKEND = prevEnv;
    await tf.setBackend(prev);
  });

  it('default order tfjs-node-gpu → webgpu → tfjs-node → wasm → cpu: the first that loads wins, failures are listed', async () => {
    delete process.env.ABE_BACKEND;
    const info = await initBackend();
    const order = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];
    expect([...AUTO_ORDER]).to.deep.equal(order);
    expect(info.tried.map((t) => t.name)).to.deep.equal(order.slice(0, info.tried.length));
    expect(info.tried.at(-1)).to.deep.equal({ name: info.name, ok: true });
    for (const t of info.tried.slice(0, -1)) (expect(t.ok).to.equal(false), expect(t.error).to.be.a('string'));
    // webgpu wins only on a hardware adapter, never on a software one (as in CI, where one is installed).
    const hardwareWebgpu = info.name === 'webgpu';
    if (!installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node') && !hardwareWebgpu)
      expect(info.name).to.equal('wasm');
    if (installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu') && !hardwareWebgpu)
      expect(info.name).to.equal('tfjs-node');
    if (info.name === 'webgpu') expect(info.device.fallback).to.equal(false);
    expect(info.device.summary).to.be.a('string').and.not.equal('');
    expect(tf.getBackend()).to.equal(info.tfBackend);
    expect(backendInfo()).to.deep.equal(info);
  });

  it('wasm loads from the installed package and reports SIMD and threads', async () => {
    const info = await initBackend({ backend: 'wasm' });
    expect(info).to.deep.include({ name: 'wasm', tfBackend: 'wasm' });
    expect(info.simd).to.be.a('boolean');
    expect(info.threads).to.be.a('number').at.least(1);
    expect(info.device).to.deep.include({ simd: info.simd, threads: info.threads, gpu: false });
    expect(info.version).to.equal(require('@tensorflow/tfjs-backend-wasm/package.json').version);
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect(Array.from(y)).to.deep.equal([3, 3, 3, 3]);
  });

  it('ABE_BACKEND forces a backend; the option wins over it', async () => {
    process.env.ABE_BACKEND = 'cpu';
    expect((await initBackend()).name).to.equal('cpu');
    expect(tf.getBackend()).to.equal('cpu');
    expect((await initBackend({ backend: 'wasm' })).name).to.equal('wasm');
    delete process.env.ABE_BACKEND;
  });

  it('an unknown name is a UsageError naming ABE_BACKEND, or an OptionsError naming the option, listing the names', async () => {
    const listed = `use one of ${BACKEND_NAMES.join(', ')}`;
    expect(listed).to.equal('use one of tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu, tensorflow');
    process.env.ABE_BACKEND = 'gpu';
    let err: unknown;
    try {
      await initBackend();
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(UsageError);
    expect((err as Error).message).to.equal(`ABE_BACKEND: unknown backend 'gpu'; ${listed}`);
    delete process.env.ABE_BACKEND;
    err = undefined;
    try {
      await initBackend({ backend: 'bogus' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(OptionsError);
    expect((err as Error).message).to.equal(`backend: unknown backend 'bogus'; ${listed}`);
    err = undefined;
    try {
      await initBackend({ backend: 'gpu', source: '--backend' });
    } catch (e) {
      err = e;
    }
    expect((err as Error).message).to.match(/^--backend: unknown backend 'gpu'/);
  });

  it('a forced backend that cannot load is an OptionsError with the one-line reason and the install command', async () => {
    if (!installed('@tensorflow/tfjs-node-gpu')) {
      let err: unknown;
      try {
        await initBackend({ backend: 'tfjs-node-gpu', source: '--backend' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OptionsError);
      expect((err as Error).message).to.match(
        /^--backend: no backend could be loaded \(forced 'tfjs-node-gpu'\): tfjs-node-gpu: @tensorflow\/tfjs-node-gpu is not installed .*; to install it: npm install @tensorflow\/tfjs-node-gpu/,
      );
    }
    if (!installed('@tensorflow/tfjs-node')) {
      let err: unknown;
      try {
        await initBackend({ backend: 'tfjs-node' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OptionsError);
      expect((err as Error).message).to.match(/forced 'tfjs-node'.*tfjs-node: @tensorflow\/tfjs-node is not installed.*npm run native/);
    }
  });

  it('tfjs-node: when installed, registers into our tfjs-core, reports TensorFlow version, CPU, threads; 2×2 matMul by hand', async () => {
    if (!installed('@tensorflow/tfjs-node')) {
      let err: unknown;
      try {
        await initBackend({ backend: 'tensorflow' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(OptionsError);
      return;
    }
    const info = await initBackend({ backend: 'tfjs-node' });
    expect(tf.getBackend()).to.equal('tensorflow');
    expect(info).to.deep.include({ name: 'tfjs-node', tfBackend: 'tensorflow' });
    expect(info.version).to.equal((tf.version as Record<string, string>)['tfjs-core']);
    expect(info.device.tensorflow).to.match(/^\d+\.\d+\.\d+/);
    expect(info.device.gpu).to.equal(false);
    expect(info.device.threads).to.be.a('number').at.least(1);
    expect(info.device.summary).to.equal(
      `TensorFlow ${info.device.tensorflow}, CPU, ${info.device.threads} thread${info.device.threads === 1 ? '' : 's'}`,
    );
    const y = tf.tidy(() =>
      tf
        .matMul(
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
          tf.tensor2d([
            [5, 6],
            [7, 8],
          ]),
        )
        .dataSync(),
    );
    expect(Array.from(y)).to.deep.equal([19, 22, 43, 50]);
    expect((await initBackend({ backend: 'tensorflow' })).name).to.equal('tfjs-node');
  });

  it('auto-selection passes over a WebGPU fallback adapter and tfjs-node-gpu without a GPU; forcing keeps them', () => {
    const fake = (name: string, device: Partial<BackendInfo['device']>): BackendInfo => ({
      name,
      tfBackend: 'x',
      version: '0',
      device: { summary: '', gpu: false, ...device },
      tried: [],
    });
    expect(autoSkipReason(fake('webgpu', { fallback: true }))).to.match(/software fallback adapter: used only when forced/);
    expect(autoSkipReason(fake('webgpu', { fallback: false, gpu: true }))).to.equal(undefined);
    expect(autoSkipReason(fake('tfjs-node-gpu', { gpu: false }))).to.match(/sees no GPU/);
    expect(autoSkipReason(fake('tfjs-node-gpu', { gpu: true }))).to.equal(undefined);
    expect(autoSkipReason(fake('tfjs-node', {}))).to.equal(undefined);
  });

  it('deviceReport: backend, version and the device fields of the active backend, for report JSON', async () => {
    const info = await initBackend({ backend: 'wasm' });
    expect(deviceReport()).to.deep.equal({
      backend: 'wasm',
      version: info.version,
      summary: info.device.summary,
      gpu: false,
      simd: info.simd,
      threads: info.threads,
    });
  });
});
