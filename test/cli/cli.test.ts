/**
 * End to end: every subcommand spawned as a user runs it (`node bin/abe-clip.js …`) on the bundled model and
 * the small dataset fixtures. The bin runs dist/ when it is newer than every source file (after `npm ci` or
 * `npm run build`), else the sources through ts-node (ABE_CLIP_FROM_SRC=1), so a stale build never hides a change.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Jimp } from 'jimp';
import { COMMANDS } from '../../src/cli/main';
import { inProcess } from '../helpers/cli';
import { fixturePath, REPO } from '../helpers/paths';

const BIN = path.join(REPO, 'bin', 'abe-clip.js');
const F = (...p: string[]): string => fixturePath('datasets', ...p);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function files(dir: string, ext: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p, ext) : e.name.endsWith(ext) ? [p] : [];
  });
}

/** dist/ is usable when its oldest compiled file is newer than the newest source (tsc rewrites them all). */
function distIsFresh(): boolean {
  const js = files(path.join(REPO, 'dist', 'src'), '.js');
  if (!js.length) return false;
  const oldest = Math.min(...js.map((f) => fs.statSync(f).mtimeMs));
  const newest = Math.max(...files(path.join(REPO, 'src'), '.ts').map((f) => fs.statSync(f).mtimeMs));
  return oldest > newest;
}

let fromSrc: string | undefined;
function cli(args: string[], cwd: string): Run {
  fromSrc ??= distIsFresh() ? '0' : '1';
  const env = { ...process.env, ABE_CLIP_FROM_SRC: fromSrc };
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 280_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function reference(): Map<string, { clip_pos: number; clip_neg: number }> {
  const m = new Map();
  for (const line of fs.readFileSync(path.join(REPO, 'data', 'toy-shapes', 'reference_scores.jsonl'), 'utf8').split('\n')) {
    if (line.trim()) {
      const r = JSON.parse(line);
      m.set(r.id, r);
    }
  }
  return m;
}

const noStack = (r: Run): void => {
  expect(r.stderr).to.not.match(/\n\s+at /);
};

describe('abe-clip command line (spawned, bundled toy-shapes model)', function () {
  this.timeout(300_000);
  let tmp: string;
  let cache: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-cli-'));
    cache = path.join(tmp, 'cache');
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it('--help of every subcommand exits 0 and shows its usage; no command is a usage error (2)', async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await inProcess([name, '--help']);
      expect(r.code, name).to.equal(0);
      expect(r.stdout, name).to.match(new RegExp(`^abe-clip ${name} — [\\s\\S]*Usage: abe-clip ${name}`));
    }
    const top = await inProcess([]);
    expect(top.code).to.equal(2);
    expect(top.stdout).to.contain('Commands:');
  });

  it('usage errors: unknown command / flag → exit 2, one line, no stack (in process)', async () => {
    const r = await inProcess(['eval', '--dataset', 'toy', '--limt', '3']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.equal("abe-clip: error: --limt: unknown option (did you mean --limit?)\nRun 'abe-clip eval --help' for usage.\n");
    const u = await inProcess(['evaluate']);
    expect(u.code).to.equal(2);
    expect(u.stderr).to.match(/^abe-clip: error: evaluate: unknown command; use one of demo, score/);
  });

  it('demo: table per kind × split, report files (report.html too), bar chart and explain overlays; CLIP matches the reference', () => {
    const r = cli(['demo', '--limit', '12', '--heatmaps', '1', '--out', 'demo-out', '--cache', cache], tmp);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.match(/^backend: \w+/m);
    // Only our output: no tfjs banner, no library warnings.
    expect(r.stderr).to.not.match(/Hi, looks like|node backend|warn/i);
    expect(r.stdout).to.match(/kind\s+split\s+n\s+clip\s+abe\s+abe\+regions/);
    for (const k of ['swap-att', 'replace-att', 'replace-obj'])
      for (const s of ['seen', 'unseen']) expect(r.stdout).to.match(new RegExp(`${k}\\s+${s}\\s+2 `));
    const m = /max \|diff\| ([0-9.e+-]+) over 12 items, 0 decision\(s\) flipped/.exec(r.stdout);
    expect(m, r.stdout).to.not.equal(null);
    expect(Number(m![1])).to.be.below(1e-3);
    const out = path.join(tmp, 'demo-out');
    for (const f of ['report.json', 'report.md', 'report.csv', 'accuracy.png', 'report.html', 'explain/seen-swap-att-0000.png'])
      expect(fs.existsSync(path.join(out, f)), f).to.equal(true);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    expect(rep.items).to.have.length(12);
    expect(rep.device).to.include({ backend: rep.backend });
    expect(r.stderr).to.contain(`backend: ${rep.backend} ${rep.device.version} (${rep.device.summary})`);
    expect(Object.keys(rep.items[0])).to.deep.equal(['id', 'kind', 'split', 'image', 'positive', 'negative', 'clip', 'abe', 'abe+regions']);
    const distinct = new Set(rep.items.flatMap((it: { positive: string; negative: string }) => [it.positive, it.negative])).size;
    expect(rep.captionCheck).to.include({ contextLength: 32, checked: distinct, truncated: 0, empty: 0 });
  });

  it('score --json (cpu backend): clip logits equal the reference to 1e-3, no tfjs banner; a missing image is a usage error', async () => {
    const ref = reference().get('seen-swap-att-0000')!;
    const img = path.join(REPO, 'data', 'toy-shapes', 'images', 'seen_0000.png');
    const r = cli(
      [
        'score',
        '--image',
        img,
        '--text',
        'a orange star and a cyan circle',
        '--text',
        'a cyan star and a orange circle',
        '--json',
        '--cache',
        cache,
        '--backend',
        'cpu',
      ],
      tmp,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.not.contain('Hi, looks like'); // tfjs's cpu backend banner (src/tensor/quiet.ts)
    const j = JSON.parse(r.stdout);
    expect(j.configs).to.deep.equal(['clip', 'abe', 'abe+regions']);
    expect(j.scores.clip[0][0]).to.be.closeTo(ref.clip_pos, 1e-3);
    expect(j.scores.clip[0][1]).to.be.closeTo(ref.clip_neg, 1e-3);
    const missing = await inProcess(['score', '--image', 'nope.png', '--text', 'a red square']);
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.contain('--image nope.png: no such file');
    noStack(missing);
  });

  it('explain: a PNG with one panel per phrase group, and per-group Δ printed', async () => {
    const out = path.join(tmp, 'heat.png');
    const r = cli(
      ['explain', '--image', F('images', 'seen_0001.png'), '--text', 'a white triangle and a green star', '--out', out, '--cache', cache],
      tmp,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout)
      .to.match(/white triangle\s+Δ=[+-]\d\.\d{4}/)
      .and.match(/green star\s+Δ=/);
    const img = await Jimp.read(out);
    expect(img.bitmap.width, 'the plain image and one panel per group').to.be.at.least(3 * 224);
  });

  it("explain --config abe+regions: each group's assigned region and term; --json prints only JSON", async () => {
    const out = path.join(tmp, 'heat-regions.png');
    const args = [
      'explain',
      '--image',
      F('images', 'seen_0001.png'),
      '--text',
      'a white triangle and a green star',
      '--config',
      'abe+regions',
      '--out',
      out,
      '--cache',
      cache,
    ];
    const r = await inProcess(args);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/white triangle\s+region \d\s+term [+-]\d\.\d{4}\s+p·r/);
    const j = await inProcess([...args, '--json']);
    expect(j.code, j.stderr).to.equal(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.groups.map((g: { words: string }) => g.words)).to.deep.equal(['white triangle', 'green star']);
    for (const g of parsed.groups)
      (expect(g.region).to.be.a('number'), expect(g.regionTerm).to.be.a('number'), expect(g.delta).to.equal(null));
  });

  it('eval on the toy fixture and on SugarCrepe files (a missing image is listed and skipped; --strict fails)', async () => {
    const r = cli(['eval', '--dataset', 'toy', '--data', F('toy-items.jsonl'), '--out', 'eval-toy', '--cache', cache], tmp);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/all\s+all\s+12 /);
    const rep = JSON.parse(fs.readFileSync(path.join(tmp, 'eval-toy', 'report.json'), 'utf8'));
    expect(rep.items[0]).to.have.keys(['id', 'kind', 'split', 'image', 'positive', 'negative', 'clip', 'abe', 'abe+regions']);
    expect(rep.items[0].image).to.match(/seen_000\d\.png$/);
    expect(rep.captionCheck).to.include({ contextLength: 32, truncated: 0, empty: 0 });
    expect(rep.cells.find((c: { kind: string; split: string }) => c.kind === 'all' && c.split === 'all').n).to.equal(12);
    for (const f of ['report.csv', 'report.md', 'accuracy.png']) expect(fs.existsSync(path.join(tmp, 'eval-toy', f)), f).to.equal(true);

    const sc = cli(
      [
        'eval',
        '--dataset',
        'sugarcrepe',
        '--data',
        F('sugarcrepe', 'data'),
        '--images',
        F('images'),
        '--out',
        'eval-sc',
        '--cache',
        cache,
        '--configs',
        'clip,abe',
      ],
      tmp,
    );
    expect(sc.code, sc.stderr).to.equal(0);
    expect(sc.stderr).to.contain('warning: 1 image file(s) missing, 1 item(s) skipped').and.contain('000000999999.jpg');
    expect(sc.stdout)
      .to.match(/swap_att\s+all\s+3 /)
      .and.match(/replace_obj\s+all\s+2 /);
    const strict = await inProcess([
      'eval',
      '--dataset',
      'sugarcrepe',
      '--data',
      F('sugarcrepe', 'data'),
      '--images',
      F('images'),
      '--out',
      path.join(tmp, 'eval-sc2'),
      '--strict',
      '--backend',
      'wasm',
    ]);
    expect(strict.code).to.equal(1);
    expect(strict.stderr).to.match(/^abe-clip: error: .*1 image file\(s\) missing \(--strict\)/m);
    noStack(strict);
  });

  it('eval: a dataset file in the wrong format → exit 1 naming the line and field; unwritable --out → exit 2', async () => {
    const bad = cli(
      ['eval', '--dataset', 'pairs', '--data', F('bad', 'wrong-field.jsonl'), '--images', F('images'), '--out', 'eval-bad'],
      tmp,
    );
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.match(/wrong-field\.jsonl:2: field 'positive' must be a string/);
    noStack(bad);
    fs.writeFileSync(path.join(tmp, 'afile'), '');
    const unw = await inProcess(['eval', '--dataset', 'toy', '--out', path.join(tmp, 'afile', 'sub')]);
    expect(unw.code).to.equal(2);
    expect(unw.stderr).to.match(/--out .*afile\/sub: cannot write there/);
  });

  it('ablate: grid table, JSON, CSV and line plot; an unknown grid option is a usage error', async () => {
    const r = cli(
      ['ablate', '--grid', 'lambda=0,1', 'topK=1,2', '--dataset', 'toy', '--data', F('toy-items.jsonl'), '--out', 'abl', '--cache', cache],
      tmp,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout)
      .to.match(/^lambda\s+topK\s+swap-att\/seen/m)
      .and.contain('best overall:');
    const j = JSON.parse(fs.readFileSync(path.join(tmp, 'abl', 'ablation.json'), 'utf8'));
    expect(j.points).to.have.length(4);
    expect(j.points[0].options).to.include({ lambda: 0, topK: 1 });
    const img = await Jimp.read(path.join(tmp, 'abl', 'ablation.png'));
    expect(img.bitmap.width).to.be.greaterThan(600);
    const bad = await inProcess(['ablate', '--grid', 'lamda=0,1']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.match(/--grid lamda=0,1: unknown option 'lamda'/);
    const badValue = await inProcess(['ablate', '--grid', 'refine=sideways']);
    expect(badValue.code).to.equal(2);
    expect(badValue.stderr).to.match(/refine must be one of isolated\|contextual\|none/);
  });

  it('convert: a checkpoint (positional) to the converted folder, verified; --config gives the geometry', async () => {
    const out = path.join(tmp, 'micro-conv');
    const r = cli(
      ['convert', fixturePath('micro', 'openai.safetensors'), '--out', out, '--config', fixturePath('micro', 'config.json')],
      tmp,
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/verified\s+max \|Δ\| = /);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'model.json'), 'utf8')).config.textHeads).to.equal(2);
    const none = await inProcess(['convert', '--out', path.join(tmp, 'x')]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.match(/missing the checkpoint/);
  });

  it('bench --quick --json: a report object', () => {
    const r = cli(['bench', '--quick', '--json', '--threads', '1'], tmp);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.be.an('object');
  });
});

describe('abe-clip eval, other formats (in process)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-cli2-'));
  });
  // The in-process runs switch this process to wasm; later test files expect tfjs's default (cpu).
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });
  const common = (out: string): string[] => [
    '--images',
    F('images'),
    '--out',
    path.join(tmp, out),
    '--backend',
    'wasm',
    '--cache',
    path.join(tmp, 'cache'),
    '--configs',
    'clip,abe',
  ];

  const cases: [string, string[], RegExp, number, RegExp?][] = [
    [
      'aro-attribution (bbox crops; macro accuracy over attribute pairs)',
      ['--dataset', 'aro-attribution', '--data', F('aro', 'visual_genome_attribution.json')],
      /vg-attribution\s+all\s+3 /,
      3,
      /ARO macro accuracy over attribute pairs:\n  clip: \d\.\d{3} over 3 attribute pairs/,
    ],
    [
      'abc6k (caption map, identical pairs dropped)',
      ['--dataset', 'abc6k', '--data', F('abc6k', 'ABC-6K.txt'), '--caption-map', F('abc6k', 'caption-map.json')],
      /abc6k\s+all\s+3 /,
      3,
    ],
    [
      'winoground (text / image / group scores)',
      ['--dataset', 'winoground', '--data', F('winoground', 'examples.jsonl')],
      /Object\s+all\s+4 /,
      4,
      /Winoground scores \(text \/ image \/ group\):\n  clip: [\d.]+ \/ [\d.]+ \/ [\d.]+ over 2 examples/,
    ],
    ['pairs JSONL', ['--dataset', 'pairs', '--data', F('pairs', 'pairs.jsonl')], /all\s+all\s+4 /, 4],
  ];
  for (const [name, args, row, n, extra] of cases) {
    it(name, async () => {
      const out = name.split(' ')[0];
      const r = await inProcess(['eval', ...args, ...common(out)]);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(row);
      if (extra) expect(r.stdout).to.match(extra);
      const rep = JSON.parse(fs.readFileSync(path.join(tmp, out, 'report.json'), 'utf8'));
      expect(rep.items).to.have.length(n);
    });
  }

  it('retrieval: Recall@1/5/10 both ways, per-query ranks, a warning for K ≥ the candidates; eval --task retrieval is the same', async () => {
    const r = await inProcess(['retrieval', '--data', F('retrieval', 'captions.jsonl'), ...common('retrieval')]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/config\s+i→t R@1\s+i→t R@5\*\s+i→t R@10\*\s+t→i R@1\s+t→i R@5\*/);
    // 4 images, 5 captions: t→i R@5 and R@10 (K ≥ 4 images), i→t R@5 and R@10 (≤ 4 other captions per image).
    expect(r.stderr)
      .to.contain('warning: image→text R@5, R@10')
      .and.contain('warning: text→image R@5, R@10 (K ≥ the 4 candidate images) is 1.0 by construction');
    const j = JSON.parse(fs.readFileSync(path.join(tmp, 'retrieval', 'retrieval.json'), 'utf8'));
    expect(j.recall.clip.imageToText['R@5']).to.equal(1);
    expect(j.recall.clip.textToImage['R@10']).to.equal(1);
    expect(j.trivialK).to.deep.equal({ imageToText: [5, 10], textToImage: [5, 10] });
    expect(j.queries.captions).to.have.length(5);
    expect(j.queries.captions[1]).to.deep.equal({ caption: 'a photo of a cyan circle and a orange star', image: 0 });
    for (const cfg of ['clip', 'abe']) {
      const ranks = j.ranks[cfg];
      expect(ranks.imageToText).to.have.length(4);
      expect(ranks.textToImage).to.have.length(5);
      // Independent of recallAtK's own counting: R@1 is the share of rank-1 queries.
      expect(ranks.textToImage.filter((x: number) => x === 1).length / 5).to.equal(j.recall[cfg].textToImage['R@1']);
      expect(ranks.imageToText.filter((x: number) => x === 1).length / 4).to.equal(j.recall[cfg].imageToText['R@1']);
      expect(ranks.textToImage.every((x: number) => x >= 1 && x <= 4)).to.equal(true);
    }
    const e = await inProcess(['eval', '--task', 'retrieval', '--data', F('retrieval', 'captions.tsv'), ...common('retrieval-eval')]);
    expect(e.code, e.stderr).to.equal(0);
    expect(JSON.parse(fs.readFileSync(path.join(tmp, 'retrieval-eval', 'retrieval.json'), 'utf8')).command).to.equal(
      'eval --task retrieval',
    );
  });

  it('ablate: missing images on the terminal and in ablation.md as eval reports them; CSV unquoted with a clip row', async () => {
    const out = path.join(tmp, 'abl-sc');
    const r = await inProcess([
      'ablate',
      '--grid',
      'lambda=1,0,0.25',
      '--dataset',
      'sugarcrepe',
      '--data',
      F('sugarcrepe', 'data'),
      '--images',
      F('images'),
      '--out',
      out,
      '--backend',
      'wasm',
      '--cache',
      path.join(tmp, 'cache'),
    ]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr)
      .to.contain('warning: 1 image file(s) missing, 1 item(s) skipped (--strict makes this an error):')
      .and.contain('000000999999.jpg');
    const md = fs.readFileSync(path.join(out, 'ablation.md'), 'utf8');
    expect(md).to.contain('**1 image file(s) missing** (1 items skipped):').and.contain('000000999999.jpg');
    const j = JSON.parse(fs.readFileSync(path.join(out, 'ablation.json'), 'utf8'));
    expect(j.missingImages).to.include({ count: 1, items: 1 });
    expect(j.missingImages.files[0]).to.match(/000000999999\.jpg$/);
    expect(j.undecodableImages).to.deep.equal([]);
    const csv = fs.readFileSync(path.join(out, 'ablation.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).to.match(/^lambda,acc_/);
    expect(csv.map((l) => l.split(',')[0])).to.deep.equal(['lambda', '1', '0', '0.25', 'clip']);
    expect(csv.join('\n')).to.not.contain('"');
  });
});
