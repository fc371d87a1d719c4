/**
 * Glue for TensorFlow's native backends (@tensorflow/tfjs-node and -gpu): where the package is found, quieting
 * TensorFlow's start-up notices, and what device it runs on (TF version, GPU or not, threads).
 *
 * The packages are opt-in (not dependencies): `npm install @tensorflow/tfjs-node[-gpu]` puts them in
 * node_modules; the offline route (`npm run native`, tools/native/install.js) builds tfjs-node into
 * `<package root>/.native/` (or ABE_NATIVE_DIR), which npm ci / npm install never touch.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { packageRoot } from '../package-root';

export type NativePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

/** The offline install's prefix (its node_modules holds tfjs-node without its own tfjs copies). */
export function nativeDir(): string {
  return path.resolve(process.env.ABE_NATIVE_DIR || path.join(packageRoot(), '.native'));
}

/** The package's entry file: node_modules first (the npm route), then the offline install. */
export function resolveNative(pkg: NativePackage): string {
  try {
    return require.resolve(pkg);
  } catch {
    /* not in node_modules */
  }
  const local = path.join(nativeDir(), 'node_modules', ...pkg.split('/'));
  if (fs.existsSync(path.join(local, 'package.json'))) return require.resolve(local);
  throw new Error(`${pkg} is not installed (neither in node_modules nor in ${nativeDir()})`);
}

export function nativePackageVersion(pkg: NativePackage): string {
  const entry = resolveNative(pkg);
  let dir = path.dirname(entry);
  while (!fs.existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
}

/**
 * Load the package (it registers the `tensorflow` backend into the tfjs-core it resolves). TensorFlow's C++
 * log notices (oneDNN, CPU features) go to stderr at load: quieted to errors unless the user set the level.
 * @throws Error (one line) when absent, when the native library does not load, or when it registered into a
 *   different copy of tfjs-core than ours (a version mismatch npm did not dedupe).
 */
export function loadNative(pkg: NativePackage): void {
  const entry = resolveNative(pkg);
  if (process.env.TF_CPP_MIN_LOG_LEVEL === undefined) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  try {
    require(entry);
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new Error(`${pkg} is installed but does not load: ${msg}`);
  }
  if (!tf.findBackendFactory('tensorflow')) {
    const ours = (tf.version as Record<string, string>)['tfjs-core'];
    throw new Error(
      `${pkg} ${nativePackageVersion(pkg)} registered into another copy of @tensorflow/tfjs-core, not ours (${ours}); install the version matching @tensorflow/tfjs`,
    );
  }
}

export interface NativeDevice {
  /** TensorFlow's C library version (TF_Version). */
  tensorflow: string;
  gpu: boolean;
  /** TensorFlow's intra-op threads: TF_NUM_INTRAOP_THREADS when set, else TensorFlow's default (every core). */
  threads: number;
}

/** The device of the active `tensorflow` backend (call after tf.setBackend('tensorflow')). */
export function nativeDevice(): NativeDevice {
  const b = tf.backend() as unknown as { binding?: { TF_Version?: string }; isUsingGpuDevice?: boolean };
  const env = Number(process.env.TF_NUM_INTRAOP_THREADS);
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return {
    tensorflow: String(b.binding?.TF_Version ?? 'unknown'),
    gpu: Boolean(b.isUsingGpuDevice),
    threads: Number.isInteger(env) && env > 0 ? env : cores,
  };
}
