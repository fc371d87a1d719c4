/** Loader for the ABE goldens (vendored subset in test/fixtures/abe, or the full file in ../shared). */
import * as tf from '@tensorflow/tfjs';
import { SafetensorsFile } from '../../src/weights/safetensors';
import { fixturePath } from '../helpers/paths';

export interface GoldenGroup {
  q: number; caption: number; group: number; attrs: string[]; object: string;
  positions: number[]; object_last_position: number; phrase: string; object_phrase: string;
}
export interface GoldenMode {
  refine: 'isolated' | 'contextual' | 'none'; gamma: number | null; refineLayer: number | null;
  locate: 'object' | 'phrase'; topK: number; fuse: 'binding-difference' | 'additive' | 'convex'; lambda: number;
  patchLayer: 'last' | number; patchFeatures: 'tokens' | 'value' | 'selfself'; patchLayer_index: number; template: string;
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
  mode(name: string): GoldenMode { return JSON.parse(this.file.metadata[name]); }
  has(name: string): boolean { return this.file.entry(name) !== undefined; }
  data(name: string): Float32Array | Int32Array { return this.file.read(name).data; }
  shape(name: string): number[] { return this.file.read(name).shape; }
  tensor(name: string): tf.Tensor {
    const t = this.file.read(name);
    return tf.tensor(t.data, t.shape, t.dtype);
  }
  /** The mode's patch features: `{mode}/v`, or the `patches_layer{l}` it equals (the vendored subset drops those). */
  patchesName(mode: string): string {
    return this.has(`${mode}/v`) ? `${mode}/v` : `patches_layer${this.mode(mode).patchLayer_index}`;
  }
  get scale(): number { return this.file.read('s').data[0]; }
  close(): void { this.file.close(); }
}
