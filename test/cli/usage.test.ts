/**
 * The command line's rules, in process (`main(argv, io)`): exit 2 = a usage error — a bad flag or value, a
 * user-given path that does not exist — found before the model loads; exit 1 = a failure after validation
 * (an undecodable image, a malformed dataset file). Messages name the user's flag and suggest near misses.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { editDistance, suggest } from '../../src/cli/args';
import { toolMain } from '../../tools/make-random-checkpoint';
import { inProcess } from '../helpers/cli';
import { fixturePath, REPO } from '../helpers/paths';

const run = inProcess;

const IMG = path.join(REPO, 'data', 'toy-shapes', 'images', 'seen_0000.png');
const F = (...p: string[]): string => fixturePath('datasets', ...p);
/** The model-load line: its absence proves a usage error was found before loading. */
const LOADED = /^model: /m;

describe('command line: usage errors (exit 2) before the model loads, one line, with suggestions', function () {
  this.timeout(120_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-usage-'));
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it('suggest: nearest names by Damerau–Levenshtein distance (scroe→score is 1 transposition), prefixes otherwise', () => {
    expect(editDistance('scroe', 'score')).to.equal(1);
    expect(editDistance('jsn', 'json')).to.equal(1);
    expect(editDistance('kitten', 'sitting')).to.equal(3);
    expect(suggest('scroe', ['demo', 'score', 'explain'])).to.deep.equal(['score']);
    expect(suggest('lim', ['limit', 'lambda'])).to.deep.equal(['limit']);
    expect(suggest('zzzzzz', ['limit', 'json'])).to.deep.equal([]);
  });

  it('"did you mean" for an unknown command (scroe) and an unknown flag (--jsn)', async () => {
    const c = await run(['scroe']);
    expect(c.code).to.equal(2);
    expect(c.stderr).to.match(/^abe-clip: error: scroe: unknown command \(did you mean score\?\); use one of demo, score/);
    const f = await run(['score', '--jsn']);
    expect(f.code).to.equal(2);
    expect(f.stderr).to.contain('--jsn: unknown option (did you mean --json?)').and.contain("Run 'abe-clip score --help' for usage.");
  });

  it("abe-clip help score prints score's help (exit 0); help of an unknown command is a usage error", async () => {
    const h = await run(['help', 'score']);
    expect(h.code).to.equal(0);
    expect(h.stdout).to.match(/^abe-clip score — [\s\S]*Usage: abe-clip score[\s\S]*--strict/);
    expect((await run(['help', 'scroe'])).code).to.equal(2);
    const r = await run(['help', 'retrieval']);
    expect(r.stdout).to.contain('{"image": "a.jpg", "caption": "a red cube"}').and.contain('a.jpg<TAB>a red cube');
  });

  it('score --set topK=0 → exit 2 naming --set, before the model loads (as ablate does)', async () => {
    const r = await run(['score', '--image', IMG, '--text', 'a red cube', '--set', 'topK=0', '--no-cache']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^abe-clip: error: --set topK=0: topK must be in \[1, /);
    expect(r.stderr)
      .to.not.match(LOADED)
      .and.not.match(/^backend: /m);
  });

  it('a missing --weights path and a missing --image are the same code (2), each naming its flag', async () => {
    const w = await run(['score', '--image', IMG, '--text', 'a cube', '--weights', path.join(tmp, 'nothere')]);
    const i = await run(['score', '--image', path.join(tmp, 'nope.png'), '--text', 'a cube']);
    expect([w.code, i.code]).to.deep.equal([2, 2]);
    expect(w.stderr).to.match(/--weights .*nothere: no such file or folder, and not a bundled model \(toy-shapes\)/);
    expect(i.stderr).to.match(/--image .*nope\.png: no such file\n/);
  });

  it('explain --config clip lists the configurations it can draw', async () => {
    const r = await run(['explain', '--image', IMG, '--text', 'a cube', '--out', path.join(tmp, 'x.png'), '--config', 'clip']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("--config: expected one of abe, abe+regions, got 'clip'");
  });

  it('convert nothere.pt says the file does not exist (2); an existing non-empty --out is a usage error too', async () => {
    const r = await run(['convert', 'nothere.pt', '--out', path.join(tmp, 'conv')]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/^abe-clip: error: nothere\.pt: no such file or folder\n/);
    const full = path.join(tmp, 'full');
    fs.mkdirSync(full);
    fs.writeFileSync(path.join(full, 'x'), '');
    const o = await run(['convert', fixturePath('micro', 'openai.safetensors'), '--out', full]);
    expect(o.code).to.equal(2);
    expect(o.stderr).to.contain('already exists');
  });

  it('retrieval: a SugarCrepe folder as --data gets a pointer to eval --dataset sugarcrepe; eval --task retrieval rejects --dataset', async () => {
    const r = await run(['retrieval', '--data', F('sugarcrepe', 'data'), '--images', F('images')]);
    expect(r.code).to.equal(2);
    expect(r.stderr)
      .to.contain('is a folder; retrieval reads one captions file')
      .and.contain('looks like a SugarCrepe folder')
      .and.contain('abe-clip eval --dataset sugarcrepe');
    const e = await run([
      'eval',
      '--task',
      'retrieval',
      '--dataset',
      'pairs',
      '--data',
      F('retrieval', 'captions.jsonl'),
      '--images',
      F('images'),
    ]);
    expect(e.code).to.equal(2);
    expect(e.stderr).to.contain('--dataset pairs: does not apply to --task retrieval');
    const none = await run(['eval', '--data', F('pairs', 'pairs.jsonl')]);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.contain('--dataset: is required');
  });

  it('tools/make-random-checkpoint honours --help (exit 0, nothing written) and rejects unknown flags (2)', async () => {
    let out = '',
      err = '';
    expect(
      await toolMain(
        ['--help'],
        {
          write: (s: string) => {
            out += s;
          },
        },
        {
          write: (s: string) => {
            err += s;
          },
        },
      ),
    ).to.equal(0);
    expect(out).to.contain('Usage: npx ts-node --transpile-only tools/make-random-checkpoint.ts').and.contain('--input-dtype');
    expect(
      await toolMain(
        ['--dtyp', 'f16'],
        { write: () => undefined },
        {
          write: (s: string) => {
            err += s;
          },
        },
      ),
    ).to.equal(2);
    expect(err).to.contain('--dtyp: unknown option (did you mean --dtype?)');
  });
});

describe('command line: failures after validation (exit 1) and the caption policy (toy-shapes model, wasm)', function () {
  this.timeout(300_000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-usage2-'));
  });
  after(async () => {
    fs.rmSync(tmp, { recursive: true, force: true });
    await tf.setBackend('cpu');
  });

  it("a corrupt or truncated image is a failure (1) naming the file, with our message, not pngjs's", async () => {
    const cut = path.join(tmp, 'cut.png');
    const bytes = fs.readFileSync(IMG);
    fs.writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await run(['score', '--image', cut, '--text', 'a cube', '--backend', 'wasm', '--no-cache']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/abe-clip: error: .*cut\.png: truncated PNG: the file ends before the image data does\n/);
    expect(r.stderr).to.not.contain('waitng').and.not.contain('--help');
  });

  it('score: an over-long and word-less captions are scored with warnings and listed in --json; --strict makes them usage errors', async () => {
    const long = Array.from({ length: 40 }, () => 'red').join(' '); // 42 tokens > the toy model's 32
    const base = ['score', '--image', IMG, '--backend', 'wasm', '--no-cache', '--configs', 'clip'];
    const r = await run([...base, '--text', long, '--text', '', '--text', '!!! ???', '--json']);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.contain("warning: 1 caption(s) longer than the model's 32-token context were truncated").and.contain('(42 tokens)');
    expect(r.stderr).to.contain('warning: 2 caption(s) have no word (empty or punctuation only)');
    const j = JSON.parse(r.stdout);
    expect(j.captions).to.include({ contextLength: 32, checked: 3, truncated: 1, empty: 2 });
    expect(j.captions.emptyCaptions).to.deep.equal(['', '!!! ???']);
    const strict = await run([...base, '--text', long, '--strict']);
    expect(strict.code).to.equal(2);
    expect(strict.stderr).to.match(
      /--text: 1 caption\(s\) longer than the model's 32-token context \(--strict\), first: "red red .*needs 42 tokens/,
    );
    const strictEmpty = await run([...base, '--text', '...', '--strict']);
    expect(strictEmpty.code).to.equal(2);
    expect(strictEmpty.stderr).to.contain('1 caption(s) with no word (--strict), first: "..."');
  });
});
