#!/usr/bin/env node
'use strict';
/**
 * `npm run native -- [--tensorflow-wheel WHL | --libtensorflow DIR] [--force]`
 *
 * Installs @tensorflow/tfjs-node (TensorFlow's native CPU backend) without downloading libtensorflow or a
 * prebuilt binding: the package comes from the npm registry (or its cache) with its install script off, the
 * TensorFlow C library and headers come from a local tensorflow-cpu wheel (or an extracted libtensorflow),
 * and the binding is compiled with npm's own node-gyp against the local Node headers.
 *
 * Where: `<package root>/.native/` (override: ABE_NATIVE_DIR), a private prefix next to node_modules. Not in
 * node_modules, on purpose: `npm ci` deletes node_modules and a later `npm install` prunes packages that are
 * not in package.json, so a `--no-save` install would vanish silently; .native survives both, and the
 * package's copies of @tensorflow/tfjs* are removed so that tfjs-node resolves (by walking up) and registers
 * into OUR tfjs-core — src/backend.ts looks there after node_modules.
 *
 * Idempotent (a working install is detected and left alone unless --force) and all-or-nothing: everything is
 * built in a temporary folder beside the target, verified there, then renamed into place; any failure
 * removes the temporary folder and leaves the previous state as it was (a run killed by a signal leaves its
 * temporary folder, which the next run removes).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const TARGET = path.resolve(process.env.ABE_NATIVE_DIR || path.join(ROOT, '.native'));
const PKG = '@tensorflow/tfjs-node';
const WHEEL_GLOB_DIR = '/opt/pypi/files';
const WHEEL_RE = /^tensorflow_cpu-.*\.whl$/;
/** Members of the wheel the binding needs: the C API library, its companion, and the C API headers. */
const WHEEL_MEMBERS = [
  '^tensorflow/libtensorflow_cc\\.so\\.2$',
  '^tensorflow/libtensorflow_framework\\.so\\.2$',
  '^tensorflow/include/tensorflow/c/.+',
  '^tensorflow/include/tensorflow/core/platform/ctstring.*',
  '^tensorflow/include/tsl/platform/ctstring.*',
  '^tensorflow/include/xla/tsl/c/.+',
];

class InstallError extends Error {}

const HELP = `Usage: npm run native -- [--tensorflow-wheel FILE | --libtensorflow DIR] [--force] [--package SPEC]

Builds @tensorflow/tfjs-node offline against a local TensorFlow and installs it in ${path.relative(process.cwd(), TARGET) || TARGET}/.
  --tensorflow-wheel FILE  a tensorflow-cpu wheel (default: the newest ${WHEEL_GLOB_DIR}/tensorflow_cpu-*.whl)
  --libtensorflow DIR      an extracted libtensorflow (DIR/lib/libtensorflow*.so*, DIR/include/tensorflow/c)
  --package SPEC           what npm installs (default ${PKG}@<our @tensorflow/tfjs version>; a .tgz works offline)
  --force                  rebuild even when a working install is present
Users with internet can instead run: npm install ${PKG}
`;

function parseArgs(argv) {
  const o = { force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline !== undefined ? inline : argv[++i];
      if (v === undefined || v === '') throw new InstallError(`${name} needs a value`);
      return v;
    };
    if (name === '--help' || name === '-h') o.help = true;
    else if (name === '--force') o.force = true;
    else if (name === '--tensorflow-wheel') o.wheel = path.resolve(value());
    else if (name === '--libtensorflow') o.libdir = path.resolve(value());
    else if (name === '--package') o.pkg = value();
    else throw new InstallError(`unknown option '${a}' (see --help)`);
  }
  if (o.wheel && o.libdir) throw new InstallError('give either --tensorflow-wheel or --libtensorflow, not both');
  return o;
}

function log(msg) {
  process.stderr.write(`native: ${msg}\n`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, {
    stdio: opts.capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    encoding: 'utf8',
    ...opts,
  });
  if (r.error) throw new InstallError(`${opts.what || cmd} could not start: ${r.error.message}`);
  if (r.status !== 0) {
    const tail = opts.capture ? `: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}` : '';
    throw new InstallError(`${opts.what || cmd} failed (exit ${r.status})${tail}`);
  }
  return r;
}

function tfjsVersion() {
  try {
    return JSON.parse(fs.readFileSync(require.resolve('@tensorflow/tfjs-core/package.json', { paths: [ROOT] }), 'utf8')).version;
  } catch {
    throw new InstallError('@tensorflow/tfjs-core is not installed in node_modules; run `npm ci` first');
  }
}

/** Verify an install dir by loading it through our own initBackend in a child; returns its BackendInfo. */
function verify(nativeDir) {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'verify.js')], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ABE_NATIVE_DIR: nativeDir, ABE_BACKEND: '' },
  });
  const line = (r.stdout || '').trim().split('\n').pop() || '';
  if (r.status === 0) {
    try {
      return JSON.parse(line);
    } catch {
      /* fall through */
    }
  }
  const why = ((r.stderr || '') + (r.stdout || '')).trim().split('\n').filter(Boolean).pop() || `exit ${r.status}`;
  return { error: why };
}

/** Cheap checks of the TensorFlow source before anything is downloaded or built. */
function checkSource(o) {
  if (o.libdir) {
    if (
      !fs.existsSync(path.join(o.libdir, 'lib', 'libtensorflow.so')) &&
      !fs.existsSync(path.join(o.libdir, 'lib', 'libtensorflow.so.2'))
    ) {
      throw new InstallError(`--libtensorflow ${o.libdir}: no lib/libtensorflow.so or lib/libtensorflow.so.2 inside`);
    }
    if (!fs.existsSync(path.join(o.libdir, 'include', 'tensorflow', 'c', 'c_api.h'))) {
      throw new InstallError(`--libtensorflow ${o.libdir}: no include/tensorflow/c/c_api.h inside`);
    }
    return;
  }
  if (!o.wheel) o.wheel = findWheel();
  let head = Buffer.alloc(0);
  try {
    const fd = fs.openSync(o.wheel, 'r');
    head = Buffer.alloc(4);
    fs.readSync(fd, head, 0, 4, 0);
    fs.closeSync(fd);
  } catch (e) {
    throw new InstallError(`--tensorflow-wheel ${o.wheel}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  }
  if (head.toString('latin1') !== 'PK\x03\x04') throw new InstallError(`--tensorflow-wheel ${o.wheel}: not a wheel (not a zip file)`);
}

function findWheel() {
  let names = [];
  try {
    names = fs
      .readdirSync(WHEEL_GLOB_DIR)
      .filter((n) => WHEEL_RE.test(n))
      .sort();
  } catch {
    /* no dir */
  }
  if (!names.length) {
    throw new InstallError(
      `no TensorFlow given and no ${WHEEL_GLOB_DIR}/tensorflow_cpu-*.whl found; pass --tensorflow-wheel FILE or --libtensorflow DIR (or, with internet: npm install ${PKG})`,
    );
  }
  return path.join(WHEEL_GLOB_DIR, names[names.length - 1]);
}

/** Put libtensorflow + headers into <pkg>/deps/{lib,include} from a wheel. */
function depsFromWheel(wheel, deps, tmp) {
  const stage = path.join(tmp, 'wheel');
  const py = `
import re, sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
pats = [re.compile(p) for p in sys.argv[3:]]
try:
    z = zipfile.ZipFile(wheel)
except Exception as e:
    sys.exit(f"not a readable wheel (zip): {e}")
members = [n for n in z.namelist() if not n.endswith('/') and any(p.match(n) for p in pats)]
if not any(n.endswith('libtensorflow_cc.so.2') for n in members):
    sys.exit("no tensorflow/libtensorflow_cc.so.2 inside: not a TensorFlow (>= 2.x CPU) wheel")
z.extractall(out, members)
print(len(members))
`;
  const havePy = spawnSync('python3', ['-c', 'pass']).status === 0;
  if (havePy) {
    run('python3', ['-c', py, wheel, stage, ...WHEEL_MEMBERS], { capture: true, what: `extracting ${path.basename(wheel)}` });
  } else {
    // unzip takes shell-style patterns; same members.
    run(
      'unzip',
      [
        '-q',
        '-o',
        wheel,
        'tensorflow/libtensorflow_cc.so.2',
        'tensorflow/libtensorflow_framework.so.2',
        'tensorflow/include/tensorflow/c/*',
        'tensorflow/include/tensorflow/core/platform/ctstring*',
        'tensorflow/include/tsl/platform/ctstring*',
        'tensorflow/include/xla/tsl/c/*',
        '-d',
        stage,
      ],
      { capture: true, what: `unzip ${path.basename(wheel)} (python3 not found)` },
    );
  }
  const tfdir = path.join(stage, 'tensorflow');
  fs.mkdirSync(path.join(deps, 'lib'), { recursive: true });
  fs.renameSync(path.join(tfdir, 'include'), path.join(deps, 'include'));
  for (const f of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    if (!fs.existsSync(path.join(tfdir, f))) throw new InstallError(`${wheel}: tensorflow/${f} missing`);
    fs.renameSync(path.join(tfdir, f), path.join(deps, 'lib', f));
  }
  // The binding links -ltensorflow -ltensorflow_framework; the library's own soname (what the built binding
  // asks for at load time) is libtensorflow_cc.so.2, so that file keeps its name and the rest are links.
  const lib = path.join(deps, 'lib');
  fs.symlinkSync('libtensorflow_cc.so.2', path.join(lib, 'libtensorflow.so.2'));
  fs.symlinkSync('libtensorflow.so.2', path.join(lib, 'libtensorflow.so'));
  fs.symlinkSync('libtensorflow_framework.so.2', path.join(lib, 'libtensorflow_framework.so'));
  fs.rmSync(stage, { recursive: true, force: true });
}

/** Same from an extracted libtensorflow (the official C-library tarball layout). */
function depsFromLibdir(dir, deps) {
  const lib = path.join(dir, 'lib');
  const inc = path.join(dir, 'include');
  fs.mkdirSync(deps, { recursive: true });
  run('cp', ['-a', lib, path.join(deps, 'lib')], { capture: true, what: `copying ${lib}` });
  run('cp', ['-a', inc, path.join(deps, 'include')], { capture: true, what: `copying ${inc}` });
  const l = path.join(deps, 'lib');
  if (!fs.existsSync(path.join(l, 'libtensorflow.so'))) fs.symlinkSync('libtensorflow.so.2', path.join(l, 'libtensorflow.so'));
  if (!fs.existsSync(path.join(l, 'libtensorflow_framework.so')) && fs.existsSync(path.join(l, 'libtensorflow_framework.so.2'))) {
    fs.symlinkSync('libtensorflow_framework.so.2', path.join(l, 'libtensorflow_framework.so'));
  }
}

function nodeGyp() {
  const npmRoot = run('npm', ['root', '-g'], { capture: true, what: 'npm root -g' }).stdout.trim();
  const candidates = [
    path.join(npmRoot, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const f = candidates.find((c) => fs.existsSync(c));
  if (!f) throw new InstallError(`npm's bundled node-gyp not found (looked in ${candidates.join(', ')})`);
  return f;
}

/** Local Node headers, so node-gyp does not download them. */
function nodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  for (const d of [prefix, '/usr', '/usr/local']) {
    if (fs.existsSync(path.join(d, 'include', 'node', 'node_api.h'))) return d;
  }
  throw new InstallError(
    'Node headers (include/node/node_api.h) not found under the Node prefix, /usr or /usr/local; install them (Debian: apt-get install libnode-dev, or the nodejs package that ships them)',
  );
}

function main() {
  const t0 = Date.now();
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (process.platform !== 'linux')
    throw new InstallError(`this offline route supports Linux only (here: ${process.platform}); use npm install ${PKG}`);
  const version = tfjsVersion();
  const rel = path.relative(ROOT, TARGET);
  if (!rel || rel.startsWith('..') || path.isAbsolute(rel)) {
    // tfjs-node must find our @tensorflow/tfjs by walking up from its own folder to ROOT/node_modules.
    throw new InstallError(`ABE_NATIVE_DIR ${TARGET} must be a folder inside ${ROOT} (so that tfjs-node resolves our @tensorflow/tfjs)`);
  }
  removeStale();

  if (!o.force) {
    // Already usable from node_modules (the plain `npm install` route) or from a previous run.
    let inModules = false;
    try {
      require.resolve(`${PKG}/package.json`, { paths: [ROOT] });
      inModules = true;
    } catch {
      /* not there */
    }
    if (inModules || fs.existsSync(TARGET)) {
      const v = verify(TARGET);
      if (!v.error) {
        log(
          `already installed and working (${v.name}, ${v.device || 'TensorFlow'}${inModules ? ', from node_modules' : `, in ${TARGET}`}); nothing to do (--force rebuilds)`,
        );
        return 0;
      }
      log(`an existing install does not load (${v.error}); rebuilding`);
    }
  }

  checkSource(o);
  const tmp = fs.mkdtempSync(path.join(path.dirname(TARGET), `.native.tmp-${process.pid}-`));
  const cleanup = () => {
    try {
      fs.rmSync(tmp, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
  };
  try {
    const source = o.libdir ? `libtensorflow ${o.libdir}` : `wheel ${o.wheel}`;
    log(`building ${PKG}@${version} against ${source}`);
    fs.writeFileSync(
      path.join(tmp, 'package.json'),
      JSON.stringify({ private: true, name: 'abe-clip-native', description: 'written by tools/native/install.js' }, null, 1) + '\n',
    );
    const spec = o.pkg || `${PKG}@${version}`;
    let t = Date.now();
    run('npm', ['install', '--prefix', tmp, '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', spec], {
      capture: true,
      what: `npm install ${spec}`,
    });
    const pkgDir = path.join(tmp, 'node_modules', ...PKG.split('/'));
    const got = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
    if (got !== version) throw new InstallError(`${spec} is version ${got} but our @tensorflow/tfjs-core is ${version}; they must match`);
    // Its own copies of tfjs would be a second tfjs-core instance; without them it resolves ours (../node_modules).
    const scope = path.join(tmp, 'node_modules', '@tensorflow');
    for (const n of fs.readdirSync(scope)) if (n !== 'tfjs-node') fs.rmSync(path.join(scope, n), { recursive: true, force: true });
    log(`npm install --ignore-scripts: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    t = Date.now();
    const deps = path.join(pkgDir, 'deps');
    fs.rmSync(deps, { recursive: true, force: true });
    if (o.libdir) depsFromLibdir(o.libdir, deps);
    else depsFromWheel(o.wheel, deps, tmp);
    log(`TensorFlow library and headers in place: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    t = Date.now();
    const jobs = String(Math.max(1, os.cpus().length));
    run(
      process.execPath,
      [
        nodeGyp(),
        'rebuild',
        `--nodedir=${nodeDir()}`,
        '--module_name=tfjs_binding',
        `--module_path=${path.join(pkgDir, 'lib', 'napi-v8')}`,
        '--napi_build_version=8',
        '-j',
        jobs,
      ],
      { cwd: pkgDir, capture: true, what: 'node-gyp rebuild (needs make, g++ and python3)' },
    );
    fs.rmSync(path.join(pkgDir, 'build'), { recursive: true, force: true });
    log(`binding compiled: ${((Date.now() - t) / 1000).toFixed(1)} s`);

    t = Date.now();
    const v = verify(tmp);
    if (v.error) throw new InstallError(`the built backend does not load: ${v.error}`);
    log(`verified through initBackend: ${v.name} (${v.device}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    fs.writeFileSync(
      path.join(tmp, 'install.json'),
      JSON.stringify({ package: spec, version, source, builtAt: new Date().toISOString(), device: v.device }, null, 1) + '\n',
    );

    // Swap into place: the old copy (if any) is renamed away first and removed only after the new one is in.
    const old = fs.existsSync(TARGET) ? `${tmp}.old` : undefined;
    if (old) fs.renameSync(TARGET, old);
    try {
      fs.renameSync(tmp, TARGET);
    } catch (e) {
      if (old) fs.renameSync(old, TARGET);
      throw e;
    }
    if (old) fs.rmSync(old, { recursive: true, force: true });
    log(`installed in ${TARGET} in ${((Date.now() - t0) / 1000).toFixed(1)} s; check with: npx abe-clip backends`);
    return 0;
  } catch (e) {
    cleanup();
    throw e;
  }
}

/**
 * A run killed by a signal cannot clean up (its steps are synchronous, and the target is only ever replaced by
 * a rename, so it stays whole); the temporary folders it left, named after its pid, are removed here.
 */
function removeStale() {
  const parent = path.dirname(TARGET);
  for (const n of fs.existsSync(parent) ? fs.readdirSync(parent) : []) {
    const m = /^\.native\.tmp-(\d+)-/.exec(n);
    if (!m) continue;
    let alive = true;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      alive = e.code === 'EPERM';
    }
    if (alive) continue;
    fs.rmSync(path.join(parent, n), { recursive: true, force: true });
    log(`removed ${n}, left by an interrupted run`);
  }
}

try {
  process.exitCode = main();
} catch (e) {
  process.stderr.write(`native: error: ${e instanceof InstallError ? e.message : (e && e.stack) || e}\n`);
  process.exitCode = e instanceof InstallError ? 1 : 70;
}
