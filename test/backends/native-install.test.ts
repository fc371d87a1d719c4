/**
 * tools/native/install.js (`npm run native`): its refusals, which all happen before anything is fetched or
 * built, are one-line errors with exit 1 and leave no partial state (no temporary folder, the target untouched).
 * The full build (≈ 1 min, npm registry) is exercised by CI's set-up step (.ci/setup.d/10-tfjs-node.sh).
 */
import { expect } from 'chai';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO } from '../helpers/paths';

const TOOL = path.join(REPO, 'tools', 'native', 'install.js');

describe('tools/native/install.js (npm run native): bad input is refused before any work, leaving nothing behind', function () {
  this.timeout(60_000);
  let dir: string;
  let target: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'abe-native-'));
    // Inside the repository, as the tool requires; never created, since every case is refused first.
    target = path.join(REPO, `.native-test-${process.pid}`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (...args: string[]) => {
    const r = spawnSync(process.execPath, [TOOL, ...args], { encoding: 'utf8', env: { ...process.env, ABE_NATIVE_DIR: target } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const leftovers = () => [
    ...fs.readdirSync(dir),
    ...fs.readdirSync(REPO).filter((n) => n.startsWith('.native.tmp-') || n === path.basename(target)),
  ];

  it('--help prints the usage with both sources and the internet route', () => {
    const r = run('--help');
    expect(r.code).to.equal(0);
    expect(r.out).to.match(/^Usage: npm run native -- \[--tensorflow-wheel FILE \| --libtensorflow DIR\]/);
    expect(r.out).to.contain('npm install @tensorflow/tfjs-node');
  });

  it('an unknown option, both sources, or a flag without its value: exit 1, one line', () => {
    for (const [args, msg] of [
      [['--bogus'], "native: error: unknown option '--bogus' (see --help)"],
      [
        ['--tensorflow-wheel', 'a.whl', '--libtensorflow', 'x'],
        'native: error: give either --tensorflow-wheel or --libtensorflow, not both',
      ],
      [['--tensorflow-wheel'], 'native: error: --tensorflow-wheel needs a value'],
    ] as [string[], string][]) {
      const r = run(...args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.err).to.equal(msg + '\n');
    }
  });

  it('ABE_NATIVE_DIR outside the package folder is refused (tfjs-node would not find our tfjs there)', () => {
    const r = spawnSync(process.execPath, [TOOL, '--force'], {
      encoding: 'utf8',
      env: { ...process.env, ABE_NATIVE_DIR: path.join(dir, 'elsewhere') },
    });
    expect(r.status).to.equal(1);
    expect(r.stderr).to.match(
      /^native: error: ABE_NATIVE_DIR .*elsewhere must be a folder inside .* \(so that tfjs-node resolves our @tensorflow\/tfjs\)\n$/,
    );
  });

  it('a temporary folder left by a killed run (its pid gone) is removed by the next run', () => {
    const stale = path.join(REPO, '.native.tmp-999999999-test');
    fs.mkdirSync(path.join(stale, 'node_modules'), { recursive: true });
    const r = run('--tensorflow-wheel', path.join(dir, 'nope.whl'), '--force');
    expect(r.code).to.equal(1);
    expect(r.err).to.contain('native: removed .native.tmp-999999999-test, left by an interrupted run');
    expect(fs.existsSync(stale)).to.equal(false);
  });

  it('a missing wheel, a file that is not a zip, a libtensorflow folder without the library or headers', () => {
    const notZip = path.join(dir, 'bad.whl');
    fs.writeFileSync(notZip, 'not a zip');
    const lib = path.join(dir, 'libtf');
    fs.mkdirSync(path.join(lib, 'lib'), { recursive: true });
    const refuse = (args: string[], re: RegExp): void => {
      const r = run(...args, '--force');
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.err.trim().split('\n'), r.err).to.have.length(1);
      expect(r.err.trim()).to.match(re);
    };
    refuse(['--tensorflow-wheel', path.join(dir, 'nope.whl')], /--tensorflow-wheel .*nope\.whl: no such file$/);
    refuse(['--tensorflow-wheel', notZip], /--tensorflow-wheel .*bad\.whl: not a wheel \(not a zip file\)$/);
    refuse(['--libtensorflow', lib], /--libtensorflow .*libtf: no lib\/libtensorflow\.so or lib\/libtensorflow\.so\.2 inside$/);
    fs.writeFileSync(path.join(lib, 'lib', 'libtensorflow.so.2'), '');
    refuse(['--libtensorflow', lib], /--libtensorflow .*libtf: no include\/tensorflow\/c\/c_api\.h inside$/);
    expect(leftovers().sort()).to.deep.equal(['bad.whl', 'libtf']);
  });
});
