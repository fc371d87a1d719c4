// ABE-CLIP in plain ESM JavaScript: load the bundled model, two images, score an N × M matrix.
//   npm run example:score      (the README's Library API snippet is this file)
import { initBackend, loadClip, loadImages, AbeScorer } from 'abe-clip';

const backend = await initBackend(); // tfjs-node-gpu → webgpu → tfjs-node → wasm → cpu; ABE_BACKEND overrides
const model = await loadClip('toy-shapes'); // or a converted folder, .safetensors, .pt/.bin, HF folder
const dir = new URL('../data/toy-shapes/images/', import.meta.url);
const { pixels } = await loadImages(
  ['seen_0000.png', 'seen_0001.png'].map((f) => new URL(f, dir).pathname),
  model.preprocess,
);

const captions = ['a orange star and a cyan circle', 'a cyan star and a orange circle'];
const scorer = new AbeScorer(model, 'abe'); // or 'abe+regions', 'clip', or an options object
const s = await scorer.scoreMatrix(pixels, captions); // N images × M captions, row-major Float32Arrays
for (let i = 0; i < 2; i++) {
  console.log(
    `image ${i}: clip ${Array.from(s.clip.slice(2 * i, 2 * i + 2), (v) => v.toFixed(3)).join(' ')}` +
      `  abe ${Array.from(s.abe.slice(2 * i, 2 * i + 2), (v) => v.toFixed(3)).join(' ')}  (${backend.name})`,
  );
}
pixels.dispose();
model.dispose();
