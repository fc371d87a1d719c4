/**
 * `abe-clip backends` spawned as a user runs it, and the `--backend` / ABE_BACKEND usage errors (issue #16
 * item 5). What each backend reports is checked against independent facts: the installed package versions,
 * the TF version string the probe of tfjs-node gets from the binding, and which packages are present.
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { nativeDir } from '../../src/backends/tfjs-node';
import { formatBackends } from '../../src/cli/commands/backends';
import { main } from '../../src/cli/main';
import { REPO } from '../helpers/paths';

const BIN = path.join(REPO, 'bin', 'abe-clip.js');
const ORDER = ['tfjs-node-gpu', 'webgpu', 'tfjs-node', 'wasm', 'cpu'];

function present(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    /* not in node_modules */
  }
  return fs.existsSync(path.join(nativeDir(), 'node_modules', ...pkg.split('/'), 'package.json'));
}

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ABE_CLIP_FROM_SRC: '1', ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const io = {
    stdout: { write: () => true } as unknown as NodeJS.WritableStream,
    stderr: {
      write: (s: string) => {
        stderr += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  };
  return { code: await main(args, io), stderr };
}

describe('abe-clip backends', function () {
  this.timeout(300_000);
  let probed: { selected: string; backends: Parameters<typeof formatBackends>[0] } | undefined;

  it('--json: every backend in automatic order, each probed in its own process; cpu and wasm load with their package versions', () => {
    const r = cli(['backends', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    const j = JSON.parse(r.stdout);
    probed = j;
    expect(j.backends.map((b: { name: string }) => b.name)).to.deep.equal(ORDER);
    const by = Object.fromEntries(j.backends.map((b: { name: string }) => [b.name, b]));
    expect(by.cpu).to.deep.include({ ok: true, auto: true, version: require('@tensorflow/tfjs-core/package.json').version });
    expect(by.wasm).to.deep.include({ ok: true, auto: true, version: require('@tensorflow/tfjs-backend-wasm/package.json').version });
    expect(by.wasm.device.simd).to.be.a('boolean');
    for (const b of j.backends) {
      expect(b.install, b.name)
        .to.be.a('string')
        .and.match(/^npm (ci|install|run webgpu:install)/);
      if (!b.ok) expect(b.why, b.name).to.be.a('string').and.not.match(/\n/);
    }
    expect(by['tfjs-node'].ok).to.equal(present('@tensorflow/tfjs-node'));
    if (by['tfjs-node'].ok) expect(by['tfjs-node'].device.tensorflow).to.match(/^\d+\.\d+\.\d+/);
    else expect(by['tfjs-node'].why).to.match(/@tensorflow\/tfjs-node is not installed/);
    expect(by['tfjs-node'].install).to.contain('npm run native');
    expect(by['tfjs-node-gpu'].ok).to.equal(present('@tensorflow/tfjs-node-gpu'));
    if (by.webgpu.ok && by.webgpu.device.fallback) expect(by.webgpu.auto).to.equal(false);
    // Automatic selection: the first in order that loads and that auto-selection accepts.
    expect(j.selected).to.equal(j.backends.find((b: { ok: boolean; auto: boolean }) => b.ok && b.auto).name);
  });

  it('table: one row per backend, the install commands of the missing ones, the automatic choice; --backend probes one', () => {
    expect(probed, 'the --json test ran first').to.not.equal(undefined);
    const text = formatBackends(probed!.backends, probed!.selected);
    const rows = text.split('\n');
    expect(rows[0]).to.match(/^backend\s+loads\s+version\s+device, or why not$/);
    for (const n of ORDER)
      expect(
        rows.some((l) => l.startsWith(n + ' ')),
        n,
      ).to.equal(true);
    expect(text).to.match(/^cpu\s+yes\s+\S+\s+plain JavaScript, 1 thread$/m);
    expect(text).to.match(new RegExp(`^automatic selection: ${probed!.selected} \\(force another`, 'm'));
    for (const b of probed!.backends) if (!b.ok) expect(text).to.contain(`  ${b.name}: ${b.install}`);
    const one = cli(['backends', '--backend', 'cpu']);
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.match(/^backend\s+loads\s+version\s+device, or why not\ncpu\s+yes\s+\S+\s+plain JavaScript, 1 thread\n$/);
  });

  it('--backend gpu is a usage error (exit 2) naming --backend and listing only documented names', async () => {
    const r = await inProcess(['backends', '--backend', 'gpu']);
    expect(r.code).to.equal(2);
    expect(r.stderr.split('\n')[0]).to.equal(
      "abe-clip: error: --backend: expected one of tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu, tensorflow, got 'gpu'",
    );
  });

  it('ABE_BACKEND=gpu is a usage error (exit 2) naming ABE_BACKEND', async () => {
    const prev = process.env.ABE_BACKEND;
    process.env.ABE_BACKEND = 'gpu';
    let s: { code: number; stderr: string };
    try {
      s = await inProcess(['convert', '--input', path.join(REPO, 'package.json'), '--out', '/nonexistent/x']);
    } finally {
      if (prev === undefined) delete process.env.ABE_BACKEND;
      else process.env.ABE_BACKEND = prev;
    }
    expect(s.code, s.stderr).to.equal(2);
    expect(s.stderr.split('\n')[0]).to.equal(
      "abe-clip: error: ABE_BACKEND: unknown backend 'gpu'; use one of tfjs-node-gpu, webgpu, tfjs-node, wasm, cpu, tensorflow",
    );
  });
});
