/**
 * tfjs's cpu backend prints a "Hi, looks like you are running TensorFlow.js in Node.js … install our node
 * backend" banner (console.warn) the first time it stores a tensor. We choose backends ourselves (src/backend)
 * and say which one runs, so the banner is noise in our output. It is shown only while tfjs's `PROD` flag is
 * off: `quietCpuBanner` makes the cpu backend's first store with `PROD` on and then restores the flag, so every
 * other tfjs warning still shows. Call it before the first tensor is created (the CLI, test set-up, workers).
 */
import * as tf from '@tensorflow/tfjs';

export function quietCpuBanner(): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    // Let tfjs pick and initialise its backend now, as the first tensor would: once one is selected the
    // engine keeps that instance (until then every pick builds a fresh one, with a fresh banner). A
    // higher-priority backend still loading asynchronously throws here; the cpu instance is then made alone.
    try {
      tf.backend();
    } catch {
      /* not ready: tfjs picks later, as it would have */
    }
    const cpu = tf.engine().findBackend('cpu');
    if (cpu) cpu.disposeData(cpu.write(new Float32Array(1), [1], 'float32'));
  } finally {
    env.set('PROD', prod);
  }
}
