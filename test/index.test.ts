import { expect } from 'chai';
import * as fs from 'fs';
import * as path from 'path';
import * as api from '../src';

const ROOT = path.join(__dirname, '..');

describe('package entry (src/index.ts) and subpath exports', function () {
  it('the root exports the few names a user types, at most 40 (types included)', function () {
    for (const name of [
      'initBackend',
      'loadClip',
      'createClip',
      'ClipModel',
      'disposeOutput',
      'loadImages',
      'tokenize',
      'AbeScorer',
      'convertCheckpoint',
      'setLimits',
      'WeightsFormatError',
      'InputError',
      'isTypedError',
      'loadDataset',
      'runPairs',
      'hookPointNames',
    ] as const) {
      expect((api as Record<string, unknown>)[name], name).to.not.equal(undefined);
    }
    // Count every exported name, values and types, from the source (types leave no runtime trace).
    const src = fs.readFileSync(path.join(ROOT, 'src', 'index.ts'), 'utf8');
    const names = [...src.matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) =>
      m[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );
    expect(src).to.not.match(/export \*/);
    expect(names.length, names.join(', ')).to.be.at.most(40);
    expect(new Set(names).size).to.equal(names.length);
  });

  it('every subpath of package.json `exports` resolves (through the package name) and exports something', function () {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
    expect(subpaths).to.include.members(['.', './clip', './weights', './abe', './eval', './text', './image']);
    for (const k of subpaths) {
      const spec = k === '.' ? 'abe-clip' : `abe-clip/${k.slice(2)}`;
      const target = pkg.exports[k];
      expect(fs.existsSync(path.join(ROOT, target['abe-clip-source'])), `${k} source`).to.equal(true);
      expect(target.default, k).to.equal(target['abe-clip-source'].replace('./src/', './dist/src/').replace(/\.ts$/, '.js'));
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(spec) as Record<string, unknown>;
      expect(Object.keys(mod).length, spec).to.be.greaterThan(0);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect(require('abe-clip').loadClip).to.equal(api.loadClip);
  });
});
