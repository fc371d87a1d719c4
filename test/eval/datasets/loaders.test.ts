import { expect } from 'chai';
import * as path from 'path';
import { DatasetError, UsageError } from '../../../src/errors';
import { limitItems, loadDataset } from '../../../src/eval/datasets';
import { loadAbc6k, normaliseCaption } from '../../../src/eval/datasets/abc6k';
import { loadAroAttribution } from '../../../src/eval/datasets/aro';
import { loadRetrieval } from '../../../src/eval/datasets/retrieval';
import { loadSugarCrepe } from '../../../src/eval/datasets/sugarcrepe';
import { loadPairs, loadToy } from '../../../src/eval/datasets/toy';
import { loadWinoground } from '../../../src/eval/datasets/winoground';
import { fixturePath } from '../../helpers/paths';

const F = (...p: string[]): string => fixturePath('datasets', ...p);
const IMG = F('images');

describe('eval/datasets loaders (fixtures in the upstream formats)', () => {
  it('toy: items.jsonl fields, images relative to the file', () => {
    const ds = loadToy(F('toy-items.jsonl'));
    expect(ds.items).to.have.length(12);
    expect(ds.items[0]).to.deep.include({
      id: 'seen-swap-att-0000',
      kind: 'swap-att',
      split: 'seen',
      positive: 'a orange star and a cyan circle',
    });
    expect(ds.items[0].image).to.equal(path.join(F(), 'images', 'seen_0000.png'));
  });

  it('SugarCrepe: data/*.json keyed by number; the file name is the subset', () => {
    const ds = loadSugarCrepe(F('sugarcrepe', 'data'), IMG);
    expect(ds.items.map((i) => i.id)).to.deep.equal([
      'replace_obj-0',
      'replace_obj-1',
      'replace_obj-2',
      'swap_att-0',
      'swap_att-1',
      'swap_att-2',
    ]);
    const it0 = ds.items.find((i) => i.id === 'swap_att-1')!;
    expect(it0).to.deep.include({
      kind: 'swap_att',
      positive: 'a white triangle and a green star.',
      negative: 'a green triangle and a white star.',
    });
    expect(it0.image).to.equal(path.join(IMG, 'seen_0001.png'));
    expect(loadSugarCrepe(F('sugarcrepe', 'data', 'swap_att.json'), IMG).items).to.have.length(3);
  });

  it('ARO VG-Attribution: JSON array, bbox crop, true/false caption, attributes kept', () => {
    const ds = loadAroAttribution(F('aro', 'visual_genome_attribution.json'), IMG);
    expect(ds.items).to.have.length(3);
    expect(ds.items[1].crop).to.deep.equal({ x: 4, y: 6, w: 56, h: 52 });
    expect(ds.items[1].positive).to.equal('the white triangle and the green star');
    expect(ds.items[1].negative).to.equal('the green triangle and the white star');
    expect(ds.items[1].meta).to.deep.include({ attributes: ['white', 'green'] });
  });

  it('ABC-6K: alternating lines, whitespace before punctuation normalised, identical pairs dropped, caption map', () => {
    expect(normaliseCaption('A room with white walls and a blue sink and door .')).to.equal(
      'A room with white walls and a blue sink and door.',
    );
    expect(normaliseCaption('  a ,  b  ; c !')).to.equal('a, b; c!');
    const ds = loadAbc6k(F('abc6k', 'ABC-6K.txt'), IMG, F('abc6k', 'caption-map.json'));
    expect(ds.items.map((i) => [i.positive, i.negative])).to.deep.equal([
      ['a orange star and a cyan circle.', 'a cyan star and a orange circle.'],
      ['a white triangle and a green star', 'a green triangle and a white star'],
      ['A green triangle, and a orange diamond.', 'A orange triangle, and a green diamond.'],
    ]);
    expect(ds.dropped).to.deep.equal([
      { reason: 'identical after whitespace normalisation', count: 1 },
      { reason: 'original caption not in the caption map', count: 1 },
    ]);
    expect(() => loadAbc6k(F('abc6k', 'ABC-6K.txt'), IMG, undefined)).to.throw(DatasetError, /caption-map/);
  });

  it('Winoground: two items per example (text-score halves), collapsed_tag as subset, extension found', () => {
    const ds = loadWinoground(F('winoground', 'examples.jsonl'), IMG);
    expect(ds.items).to.have.length(4);
    expect(ds.items[0]).to.deep.include({
      id: '0-i0',
      positive: 'a orange star and a cyan circle',
      negative: 'a cyan star and a orange circle',
      kind: 'Object',
    });
    expect(ds.items[1]).to.deep.include({
      id: '0-i1',
      positive: 'a cyan star and a orange circle',
      negative: 'a orange star and a cyan circle',
    });
    expect(ds.items[1].image).to.equal(path.join(IMG, 'seen_0002.png'));
  });

  it('generic pairs JSONL: subset/split optional, ids from the line when absent', () => {
    const ds = loadPairs(F('pairs', 'pairs.jsonl'), IMG);
    expect(ds.items.map((i) => [i.id, i.kind, i.split])).to.deep.equal([
      ['line-1', 'swap', 'all'],
      ['line-2', 'swap', 'all'],
      ['line-3', 'replace', 'all'],
      ['custom-id', 'replace', 'dev'],
    ]);
  });

  it('retrieval: JSONL with caption or captions[], and TSV', () => {
    const r = loadRetrieval(F('retrieval', 'captions.jsonl'), IMG);
    expect(r.images).to.have.length(4);
    expect(r.captions).to.have.length(5);
    expect(r.captionImage).to.deep.equal([0, 0, 1, 2, 3]);
    const t = loadRetrieval(F('retrieval', 'captions.tsv'), IMG);
    expect(t.captions).to.deep.equal(['a orange star and a cyan circle', 'a white triangle and a green star']);
  });

  describe('bad input → DatasetError naming the line or field', () => {
    it('wrong field type names file:line and the field', () => {
      expect(() => loadPairs(F('bad', 'wrong-field.jsonl'), IMG)).to.throw(
        DatasetError,
        /wrong-field\.jsonl:2: field 'positive' must be a string/,
      );
    });
    it('broken JSON line names the line', () => {
      expect(() => loadPairs(F('bad', 'broken-line.jsonl'), IMG)).to.throw(DatasetError, /broken-line\.jsonl:2: not valid JSON/);
    });
    it('SugarCrepe given an array', () => {
      expect(() => loadSugarCrepe(F('bad', 'sugarcrepe-array.json'), IMG)).to.throw(DatasetError, /keyed by item number/);
    });
    it('ARO given a SugarCrepe file', () => {
      expect(() => loadAroAttribution(F('sugarcrepe', 'data', 'swap_att.json'), IMG)).to.throw(DatasetError, /JSON array/);
    });
    it('toy items missing a field', () => {
      expect(() => loadToy(F('pairs', 'pairs.jsonl'))).to.throw(DatasetError, /pairs\.jsonl:1: missing field 'id'/);
    });
    it('missing file', () => {
      expect(() => loadPairs(F('nope.jsonl'), IMG)).to.throw(DatasetError, /file not found/);
    });
    it('images folder required for non-toy datasets', () => {
      expect(() => loadDataset('sugarcrepe', { data: F('sugarcrepe', 'data') })).to.throw(UsageError, /--images/);
    });
  });

  it('limitItems takes items round-robin over (kind, split) cells, in file order', () => {
    const ds = loadToy(F('toy-items.jsonl'));
    const l = limitItems(ds.items, 4);
    expect(l.map((i) => i.id)).to.deep.equal([
      'seen-swap-att-0000',
      'seen-swap-att-0001',
      'seen-replace-att-0000',
      'seen-replace-obj-0000',
    ]);
    expect(loadDataset('toy', { data: F('toy-items.jsonl'), limit: 6 }).items).to.have.length(6);
  });
});
