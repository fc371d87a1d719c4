/**
 * Head ablation with hook points: zero one attention head of text block 1 (`blocks.1.attn.z`, per-head output
 * before out_proj) and read the attention probabilities of vision block 0 (`blocks.0.attn.probs`).
 *
 *   npm run example:ablation        (the bundled toy-shapes model and two of its benchmark images)
 *
 * test/examples/examples.test.ts runs `headAblation` and checks its numbers against an independent plain-JS forward.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { ClipModel, disposeOutput, initBackend, loadClip, loadImages } from 'abe-clip';

export interface AblationResult {
  /** Vision block 0 attention probabilities, [image][head][query token][key token]. */
  visionProbs: number[][][][];
  /** Text embeddings [caption][E] without and with the head zeroed. */
  textBefore: number[][];
  textAfter: number[][];
  /** Image × caption logits without and with the head zeroed. */
  logitsBefore: number[][];
  logitsAfter: number[][];
}

/** The ablation on any model: `head` of text block `block` set to zero for every caption token. */
export async function headAblation(
  model: ClipModel,
  pixels: tf.Tensor4D,
  captions: string[],
  block = 1,
  head = 0,
): Promise<AblationResult> {
  const H = model.config.text.heads;
  // attn.z is [n, H, T, D]: multiplying by a [1, H, 1, 1] mask of ones with a zero at `head` removes that head.
  const zeroHead = (z: tf.Tensor): tf.Tensor => tf.mul(z, tf.oneHot(head, H).neg().add(1).reshape([1, H, 1, 1]));
  const img = await model.runWithCache('image', pixels, ['blocks.0.attn.probs'], { tokens: false });
  const before = await model.encodeTexts(captions, { tokens: false });
  const after = await model.encodeTexts(captions, { tokens: false, hooks: { [`blocks.${block}.attn.z`]: zeroHead } });
  const logits = (t: tf.Tensor2D): number[][] =>
    tf.tidy(() => {
      const a = tf.div(img.embeds, tf.norm(img.embeds, 'euclidean', 1, true));
      const b = tf.div(t, tf.norm(t, 'euclidean', 1, true));
      return tf.mul(tf.matMul(a, b, false, true), model.logitScale).arraySync() as number[][];
    });
  try {
    return {
      visionProbs: img.cache['blocks.0.attn.probs'].arraySync() as number[][][][],
      textBefore: before.embeds.arraySync(),
      textAfter: after.embeds.arraySync(),
      logitsBefore: logits(before.embeds),
      logitsAfter: logits(after.embeds),
    };
  } finally {
    [img, before, after].forEach(disposeOutput);
  }
}

async function main(): Promise<void> {
  await initBackend();
  const model = await loadClip('toy-shapes');
  const images = ['seen_0000.png', 'seen_0001.png'].map((f) => path.join(__dirname, '..', 'data', 'toy-shapes', 'images', f));
  const { pixels } = await loadImages(images, model.preprocess);
  const r = await headAblation(model, pixels, ['a orange star and a cyan circle', 'a white triangle and a green star']);
  console.log(
    'vision block 0, head 0, CLS attends to tokens 0..4:',
    r.visionProbs[0][0][0]
      .slice(0, 5)
      .map((p) => p.toFixed(4))
      .join(' '),
  );
  console.log('logits before:', r.logitsBefore.map((row) => row.map((v) => v.toFixed(3)).join(' ')).join(' | '));
  console.log('logits after zeroing text block 1 head 0:', r.logitsAfter.map((row) => row.map((v) => v.toFixed(3)).join(' ')).join(' | '));
  pixels.dispose();
  model.dispose();
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
