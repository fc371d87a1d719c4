import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { backendInfo, initBackend } from '../src/backend';
import { OptionsError } from '../src/errors';

function installed(pkg: string): boolean {
  try { require.resolve(pkg); return true; } catch { return false; }
}

describe('backend selection', () => {
  let prev: string;
  let prevEnv: string | undefined;
  before(async () => { await tf.ready(); prev = tf.getBackend(); prevEnv = process.env.ABE_BACKEND; });
  after(async () => {
    if (prevEnv === undefined) delete process.env.ABE_BACKEND; else process.env.ABE_BACKEND = prevEnv;
    await tf.setBackend(prev);
  });

  it('default order tfjs-node-gpu → webgpu (hardware only) → tfjs-node → wasm → cpu: the first that loads wins, failures are listed', async () => {
    delete process.env.ABE_BACKEND;
    const info = await initBackend();
    const order = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];
    expect(info.tried.map((t) => t.name)).to.deep.equal(order.slice(0, info.tried.length));
    expect(info.tried.at(-1)).to.deep.equal({ name: info.name, ok: true });
    for (const t of info.tried.slice(0, -1)) expect(t.ok).to.equal(false), expect(t.error).to.be.a('string');
    // webgpu wins only on a hardware adapter, never on a software one (as in CI, where one is installed).
    if (!installed('@tensorflow/tfjs-node-gpu') && !installed('@tensorflow/tfjs-node')) expect(info.name).to.equal(info.device && !info.device.fallback ? 'webgpu' : 'wasm');
    expect(tf.getBackend()).to.equal(info.tfBackend);
    expect(backendInfo()).to.deep.equal(info);
  });

  it('wasm loads from the installed package and reports SIMD and threads', async () => {
    const info = await initBackend({ backend: 'wasm' });
    expect(info).to.deep.include({ name: 'wasm', tfBackend: 'wasm' });
    expect(info.simd).to.be.a('boolean');
    expect(info.threads).to.be.a('number').at.least(1);
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

  it('a forced backend that cannot load, or an unknown name, is an OptionsError with the reason', async () => {
    process.env.ABE_BACKEND = 'bogus';
    let err: unknown;
    try { await initBackend(); } catch (e) { err = e; }
    expect(err).to.be.instanceOf(OptionsError);
    expect((err as Error).message).to.match(/^ABE_BACKEND: unknown backend 'bogus'/);
    delete process.env.ABE_BACKEND;
    if (!installed('@tensorflow/tfjs-node')) {
      err = undefined;
      try { await initBackend({ backend: 'tfjs-node' }); } catch (e) { err = e; }
      expect(err).to.be.instanceOf(OptionsError);
      expect((err as Error).message).to.match(/forced 'tfjs-node'.*tfjs-node: Cannot find module/);
    } else {
      expect((await initBackend({ backend: 'tfjs-node' })).tfBackend).to.equal('tensorflow');
    }
  });
});
