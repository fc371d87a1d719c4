/** Loader for the ABE goldens (vendored subset in test/fixtures/abe, or the full file in ../shared). */
import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile } from '../../src/weights/safetensors';
import { expect } from 'chai';
import type { AbeOptions, CaptionInput, ScoreResult } from '../../src/abe';
import { expectClose } from '../helpers/close';
import { fixturePath } from '../helpers/paths';

export interface GoldenGroup {
  q: number;
  caption: number;
  group: number;
  attrs: string[];
  object: string;
  positions: number[];
  object_last_position: number;
  phrase: string;
  object_phrase: string;
}
export interface GoldenMode {
  refine: 'isolated' | 'contextual' | 'none';
  gamma: number | null;
  refineLayer: number | null;
  locate: 'object' | 'phrase';
  topK: number;
  fuse: 'binding-difference' | 'additive' | 'convex';
  lambda: number;
  patchLayer: 'last' | number;
  patchFeatures: 'tokens' | 'value' | 'selfself';
  patchLayer_index: number;
  template: string;
}

export class AbeGolden {
  readonly captions: string[];
  readonly groups: GoldenGroup[];
  readonly modes: string[];
  private readonly file: SafetensorsFile;
  constructor(path = fixturePath('abe', 'golden.safetensors')) {
    this.file = SafetensorsFile.open(path);
    this.captions = JSON.parse(this.file.metadata.captions);
    this.groups = JSON.parse(this.file.metadata.groups);
    this.modes = JSON.parse(this.file.metadata.modes);
  }
  mode(name: string): GoldenMode {
    return JSON.parse(this.file.metadata[name]);
  }
  has(name: string): boolean {
    return this.file.entry(name) !== undefined;
  }
  data(name: string): Float32Array | Int32Array {
    return this.file.read(name).data;
  }
  shape(name: string): number[] {
    return this.file.read(name).shape;
  }
  tensor(name: string): tf.Tensor {
    const t = this.file.read(name);
    return tf.tensor(t.data, t.shape, t.dtype);
  }
  /** The mode's patch features: `{mode}/v`, or the `patches_layer{l}` it equals (the vendored subset drops those). */
  patchesName(mode: string): string {
    return this.has(`${mode}/v`) ? `${mode}/v` : `patches_layer${this.mode(mode).patchLayer_index}`;
  }
  get scale(): number {
    return this.file.read('s').data[0];
  }
  /** A scoreMatrix result (with parts) against the mode's goldens: clip/abe within 5e-4, l_p/l_o/delta within 2e-5, R exact. */
  expectScores(mode: string, res: ScoreResult): void {
    expectClose(res.clip, this.data(`${mode}/clip`), 5e-4, 'clip', false);
    expectClose(res.abe, this.data(`${mode}/abe`), 5e-4, 'abe', false);
    expectClose(res.parts!.lp!, this.data(`${mode}/l_p`), 2e-5, 'l_p', false);
    expectClose(res.parts!.lo!, this.data(`${mode}/l_o`), 2e-5, 'l_o', false);
    expectClose(res.parts!.delta!, this.data(`${mode}/delta`), 2e-5, 'delta', false);
    expect(Array.from(res.parts!.R!)).to.deep.equal(Array.from(this.data(`${mode}/R`)));
  }
  /** A mode as our options (patchLayer as a hidden index; `none` keeps γ at its metadata 0). */
  options(mode: string): Partial<AbeOptions> {
    const m = this.mode(mode);
    return {
      refine: m.refine,
      gamma: m.gamma ?? 0.5,
      refineLayer: m.refineLayer ?? 1,
      locate: m.locate,
      topK: m.topK,
      fuse: m.fuse,
      lambda: m.lambda,
      patchFeatures: m.patchFeatures,
      patchLayer: m.patchLayer_index,
      template: m.template,
    };
  }
  /** The captions with their groups; `explicitPositions`: with the golden's ids and token positions (no tokenizer, no parser). */
  captionInputs(explicitPositions = false): CaptionInput[] {
    const ids = this.data('input_ids') as Int32Array;
    const L = ids.length / this.captions.length;
    return this.captions.map((text, m) => ({
      text,
      ...(explicitPositions ? { ids: Array.from(ids.subarray(m * L, (m + 1) * L)) } : {}),
      groups: this.groups
        .filter((x) => x.caption === m)
        .map((x) => ({
          attributes: x.attrs,
          object: x.object,
          ...(explicitPositions ? { positions: x.positions, objectLast: x.object_last_position } : {}),
        })),
    }));
  }
  close(): void {
    this.file.close();
  }
}
