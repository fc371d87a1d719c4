import { expect } from 'chai';
import { imageEncodeFlops, paramCount, textEncodeFlops, VIT_B32_CONFIG } from '../../src/bench/geometry';
import { canonicalShapes } from '../../src/weights/names';

describe('bench/geometry', () => {
  it("ViT-B/32 FLOP match open_clip's profile (8.8 GFLOP/image, 6.0 GFLOP per 77-token text, within 1%)", () => {
    expect(imageEncodeFlops(VIT_B32_CONFIG) / 1e9).to.be.closeTo(8.8, 0.088);
    expect(textEncodeFlops(VIT_B32_CONFIG) / 1e9).to.be.closeTo(6.0, 0.06);
  });
  it("ViT-B/32 has openai ViT-B/32's 151,277,313 parameters", () => {
    expect(paramCount(canonicalShapes(VIT_B32_CONFIG).values())).to.equal(151_277_313);
  });
  it('fewer tokens, fewer FLOP', () => {
    expect(textEncodeFlops(VIT_B32_CONFIG, 16)).to.be.lessThan(textEncodeFlops(VIT_B32_CONFIG));
  });
});
