/**
 * Full parity of both encoders against ../shared/reference tiny (openai names, F32) and b32geo (HF names, F16),
 * on cpu and wasm, including every hidden state and the hook edits of the reference README ("Edits").
 */
import { expect } from 'chai';
import { PARITY_BACKENDS } from '../helpers/backends';
import * as tf from '@tensorflow/tfjs';
import { disposeOutput } from '../../src/clip/model';
import { WEIGHT_LAYOUTS } from '../../src/tensor/linear';
import { expectGolden, goldenTensor, loadRef, RefModel } from '../clip/goldens';
import { sharedPath } from '../helpers/paths';

const MODELS: [string, string][] = [
  ['tiny', 'openai.safetensors'],
  ['b32geo', 'hf.safetensors'],
];

/** [1,T,1] with 1 at the given positions (0 elsewhere), to edit chosen tokens of a hidden state. */
function positions(T: number, pick: (t: number) => boolean): tf.Tensor3D {
  return tf.tensor3d(
    Array.from({ length: T }, (_, t) => (pick(t) ? 1 : 0)),
    [1, T, 1],
  );
}

for (const backend of PARITY_BACKENDS)
  for (const weightLayout of WEIGHT_LAYOUTS) {
    for (const [name, file] of MODELS) {
      describe(`reference ${name} (${file}) on ${backend}, ${weightLayout} weights: max abs err ≤ 1e-4·max(1,max|ref|)`, () => {
        let ref: RefModel;
        let px: tf.Tensor4D, ids: tf.Tensor2D;
        let prev: string;
        before(async () => {
          await tf.ready();
          prev = tf.getBackend();
          const { initBackend } = await import('../../src/backend');
          await initBackend({ backend });
          ref = loadRef(sharedPath('reference', name), file, { weightLayout });
          px = goldenTensor(ref.golden, 'pixel_values') as tf.Tensor4D;
          ids = goldenTensor(ref.golden, 'input_ids') as tf.Tensor2D;
        });
        after(async () => {
          ref.model.dispose();
          tf.dispose([px, ids]);
          await tf.setBackend(prev);
        });

        it('image_embeds, image_tokens and every image_hidden_l', async () => {
          const out = await ref.model.encodeImages(px, { hiddenStates: true, batchSize: 5 });
          expectGolden(out.embeds, ref.golden, 'image_embeds');
          expectGolden(out.tokens, ref.golden, 'image_tokens');
          expect(out.hidden).to.have.length(ref.model.config.vision.layers + 1);
          out.hidden!.forEach((h, l) => expectGolden(h, ref.golden, `image_hidden_${l}`));
          disposeOutput(out);
        });

        it('text_embeds, text_tokens and every text_hidden_l', async () => {
          const out = await ref.model.encodeTexts(ids, { hiddenStates: true });
          expectGolden(out.embeds, ref.golden, 'text_embeds');
          expectGolden(out.tokens, ref.golden, 'text_tokens');
          expect(out.hidden).to.have.length(ref.model.config.text.layers + 1);
          out.hidden!.forEach((h, l) => expectGolden(h, ref.golden, `text_hidden_${l}`));
          disposeOutput(out);
        });

        it('logits_per_image', async () => {
          const { logitsPerImage, logitsPerText } = await ref.model.logits(px, ids);
          expectGolden(logitsPerImage, ref.golden, 'logits_per_image');
          expectGolden(logitsPerText, ref.golden, 'logits_per_text');
          tf.dispose([logitsPerImage, logitsPerText]);
        });

        it('hook edits text_embeds_edit, image_embeds_edit, image_embeds_edit_add through hooks.hidden[1]; numTensors unchanged', async () => {
          const m = ref.model;
          const before = tf.memory().numTensors;
          const vt = goldenTensor(ref.golden, 'edit_vec_text');
          const vi = goldenTensor(ref.golden, 'edit_vec_image');
          const L = ids.shape[1],
            T = m.vision.tokens;
          const txt = await m.encodeTexts(ids, {
            batchSize: 3,
            hooks: {
              hidden: {
                1: (h) =>
                  tf.add(
                    h,
                    tf.mul(
                      positions(L, (t) => t === 1 || t === 2),
                      vt,
                    ),
                  ) as tf.Tensor3D,
              },
            },
          });
          expectGolden(txt.embeds, ref.golden, 'text_embeds_edit');
          const scaled = await m.encodeImages(px, {
            hooks: {
              hidden: {
                1: (h) =>
                  tf.mul(
                    h,
                    tf.sub(
                      1,
                      tf.mul(
                        positions(T, (t) => t > 0),
                        0.5,
                      ),
                    ),
                  ) as tf.Tensor3D,
              },
            },
          });
          expectGolden(scaled.embeds, ref.golden, 'image_embeds_edit');
          const added = await m.encodeImages(px, {
            hooks: {
              hidden: {
                1: (h) =>
                  tf.add(
                    h,
                    tf.mul(
                      positions(T, (t) => t > 0),
                      vi,
                    ),
                  ) as tf.Tensor3D,
              },
            },
          });
          expectGolden(added.embeds, ref.golden, 'image_embeds_edit_add');
          // The same edit on a stored hidden state, continued with runFrom: the path for editing and re-running.
          const hid = await m.encodeImages(px, { hiddenStates: true });
          const cont = tf.tidy(() => {
            const edited = tf.add(
              hid.hidden![1],
              tf.mul(
                positions(T, (t) => t > 0),
                vi,
              ),
            ) as tf.Tensor3D;
            const tokens = m.vision.head(m.vision.runFrom(edited, 1));
            return tf.reshape(tf.slice(tokens, [0, 0, 0], [-1, 1, -1]), [tokens.shape[0], tokens.shape[2]]);
          });
          expectGolden(cont, ref.golden, 'image_embeds_edit_add');
          [txt, scaled, added, hid].forEach(disposeOutput);
          tf.dispose([vt, vi, cont]);
          expect(tf.memory().numTensors).to.equal(before);
        });
      });
    }
  }

describe('reference tiny: captions as strings go through the CLIP tokenizer (max abs err ≤ 1e-4·max(1,max|ref|))', () => {
  it('encodeTexts(texts, {truncate: true}) reproduces text_embeds; without truncate the long caption is a TokenizerError', async () => {
    const ref = loadRef(sharedPath('reference', 'tiny'), 'openai.safetensors');
    try {
      const { readSafetensors } = await import('../../src/weights/safetensors');
      const texts = JSON.parse(readSafetensors(sharedPath('reference', 'tiny', 'golden.safetensors')).metadata.texts) as string[];
      const out = await ref.model.encodeTexts(texts, { truncate: true });
      expectGolden(out.embeds, ref.golden, 'text_embeds');
      disposeOutput(out);
      const { TokenizerError } = await import('../../src/errors');
      let err: unknown;
      try {
        await ref.model.encodeTexts(texts);
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(TokenizerError);
    } finally {
      ref.model.dispose();
    }
  });
});
