/**
 * Probing one backend for `abe-clip backends`: force it through initBackend, run a product whose answer is
 * known by hand, and describe the result. `probeInChild` does it in a fresh Node process per backend, so one
 * backend's load (native libraries, a registered `tensorflow` backend, a Dawn instance) cannot change the
 * verdict on the next.
 */
import { spawn } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { autoSkipReason, initBackend } from '../backend';
import type { BackendDevice } from '../backend';
import { isTypedError } from '../errors';
import { packageRoot } from '../package-root';
import { INSTALL_COMMANDS } from './names';
import type { AUTO_ORDER } from './names';

export type ProbeName = (typeof AUTO_ORDER)[number];

export interface ProbeResult {
  name: ProbeName;
  ok: boolean;
  /** Whether automatic selection may take it (false for a WebGPU software adapter, tfjs-node-gpu on CPU). */
  auto: boolean;
  version?: string;
  device?: BackendDevice;
  /** One line: why it does not load, or why auto-selection passes over it. */
  why?: string;
  install: string;
  seconds: number;
}

/** [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]], worked by hand. */
const PRODUCT = '19,22,43,50';

/** Runs that product on the current backend; throws with what it gave when the answer is wrong. */
export function checkKnownProduct(): void {
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
  if (Array.from(y).join() !== PRODUCT) throw new Error(`loads, but a 2×2 matMul gave ${Array.from(y)} instead of ${PRODUCT}`);
}

export async function probeHere(name: ProbeName): Promise<ProbeResult> {
  const t0 = Date.now();
  const base = { name, install: INSTALL_COMMANDS[name] };
  try {
    const info = await initBackend({ backend: name, source: name });
    checkKnownProduct();
    const skip = autoSkipReason(info);
    return {
      ...base,
      ok: true,
      auto: !skip,
      version: info.version,
      device: info.device,
      ...(skip ? { why: skip } : {}),
      seconds: (Date.now() - t0) / 1000,
    };
  } catch (e) {
    const msg = isTypedError(e) ? e.problem : String((e as Error)?.message ?? e);
    // initBackend's message lists the attempt as "<name>: <reason>; to install it: …": keep the reason only.
    const why = msg
      .replace(/^no backend could be loaded \(forced '[^']*'\): [^:]+: /, '')
      .replace(/; to install it: .*$/, '')
      .split('\n')[0];
    return { ...base, ok: false, auto: false, why, seconds: (Date.now() - t0) / 1000 };
  }
}

/** Child entry: probe `name`, print the result as the last stdout line. */
export async function probeMain(name: ProbeName): Promise<void> {
  const r = await probeHere(name);
  process.stdout.write('\n' + JSON.stringify(r) + '\n');
}

/** Probe in a fresh Node process (from dist/ or, in development, the TypeScript sources through ts-node). */
export function probeInChild(name: ProbeName, timeoutMs = 120_000): Promise<ProbeResult> {
  const t0 = Date.now();
  const self = __filename;
  const register = self.endsWith('.ts')
    ? `require('ts-node').register({ transpileOnly: true, project: ${JSON.stringify(path.join(packageRoot(), 'tsconfig.json'))} });`
    : '';
  const code = `${register}require(${JSON.stringify(self)}).probeMain(${JSON.stringify(name)}).catch((e) => { console.error(String(e && e.message || e)); process.exit(1); });`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ABE_BACKEND: '' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (code === 0) {
          resolve(JSON.parse(last) as ProbeResult);
          return;
        }
      } catch {
        /* reported below */
      }
      const tail = err.trim().split('\n').filter(Boolean).pop();
      const why =
        signal === 'SIGKILL' && Date.now() - t0 >= timeoutMs
          ? `no answer within ${timeoutMs / 1000} s`
          : `the probe process ${signal ? `was killed by ${signal}` : `exited with ${code}`}${tail ? `: ${tail}` : ''}`;
      resolve({ name, ok: false, auto: false, why, install: INSTALL_COMMANDS[name], seconds: (Date.now() - t0) / 1000 });
    });
  });
}
