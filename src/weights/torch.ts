/**
 * PyTorch zip checkpoints (`torch.save`, PyTorch ≥ 1.6: `<top>/data.pkl` + `<top>/data/<key>` storages) and
 * TorchScript archives (`torch.jit.save`: the same layout; data.pkl is a tree of `__torch__.*` modules).
 * data.pkl goes through the restricted unpickler with an allow-list of the globals these files use; each
 * tensor's dtype comes from its storage type, and its bytes are read from the storage entry only when the
 * tensor itself is read, so a converter can hold one tensor at a time.
 */
import * as fs from 'fs';
import { UnsafePickleError, WeightsFormatError } from '../errors';
import { getLimits } from '../limits';
import { openRegularFile } from '../io/regular-file';
import { checkFinite, decode, ITEM_SIZE, StoredDtype } from './dtype';
import { PyDict, PyGlobal, PyObject, PicklePolicy, unpickle } from './pickle';
import { numel, RawTensor, TensorMap } from './types';
import { ZipFile } from './zip';
import { renderValue } from '../io/render';

/** Storage classes → stored dtype. Allowed classes without a dtype here are refused when their tensor is read. */
const STORAGE_DTYPES: Record<string, StoredDtype | null> = {
  FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16', DoubleStorage: 'F64',
  LongStorage: 'I64', IntStorage: 'I32',
  ShortStorage: null, CharStorage: null, ByteStorage: null, BoolStorage: null,
};

/**
 * All views of a checkpoint together may read at most VIEW_AMPLIFICATION × the storage elements present,
 * plus VIEW_SLACK elements (small files with many views of one storage cannot amplify to anything large).
 */
const VIEW_AMPLIFICATION = 2;
const VIEW_SLACK = 1 << 20;

/**
 * Most PyObject / dict visits the module-tree walk makes. Shared references turn a tree into a DAG whose
 * paths multiply (60 levels of shared children = 2^60 paths); real models have a few thousand modules.
 */
const MAX_WALK_NODES = 200_000;

const TENSOR_REBUILDERS = new Set([
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
]);

interface StorageRef { kind: 'storage'; cls: string; dtype: StoredDtype | null; key: string; numel: number }

/** A tensor as described by the pickle: a view (offset, size, stride) into a storage, not yet read. */
export class TorchTensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}

function isIntList(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}

function torchPolicy(label: string): PicklePolicy {
  const fail = (p: string): never => { throw new WeightsFormatError(label, p); };
  const rebuild = (args: unknown[]): TorchTensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage && typeof storage === 'object' && (storage as StorageRef).kind === 'storage')) fail('tensor rebuilt from something that is not a storage');
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail(`tensor storage offset ${renderValue(offset)} is not a non-negative integer`);
    if (!isIntList(size) || !isIntList(stride) || size.length !== stride.length) {
      fail(`tensor size ${renderValue(size)} / stride ${renderValue(stride)} are not matching integer lists`);
    }
    return new TorchTensorRef(storage as StorageRef, offset as number, [...(size as number[])], [...(stride as number[])]);
  };
  return {
    global(module, name) {
      const q = `${module}.${name}`;
      if (module === 'collections' && name === 'OrderedDict') return new PyGlobal(module, name);
      if (TENSOR_REBUILDERS.has(q)) return new PyGlobal(module, name);
      if ((module === 'torch' || module === 'torch.storage') && name in STORAGE_DTYPES) return new PyGlobal(module, name);
      // TorchScript module classes (and eager nn modules): only ever instantiated as inert PyObjects.
      if (module === '__torch__' || module.startsWith('__torch__.') || module.startsWith('torch.nn.modules.')) {
        return new PyGlobal(module, name);
      }
      throw new UnsafePickleError(label, `pickle: global '${q}' is not allowed (only tensors, storages, OrderedDict and module classes are)`);
    },
    reduce(fn, args) {
      const q = fn.qualname;
      if (q === 'collections.OrderedDict') {
        const d = new PyDict();
        if (args.length === 1 && Array.isArray(args[0])) {
          for (const kv of args[0] as unknown[]) {
            if (!Array.isArray(kv) || kv.length !== 2) fail('OrderedDict built from items that are not pairs');
            d.set((kv as unknown[])[0], (kv as unknown[])[1]);
          }
        } else if (args.length !== 0) fail(`OrderedDict called with ${args.length} arguments`);
        return d;
      }
      if (q === 'torch._utils._rebuild_tensor' || q === 'torch._utils._rebuild_tensor_v2') return rebuild(args);
      if (q === 'torch._utils._rebuild_parameter' || q === 'torch._utils._rebuild_parameter_with_state') {
        if (!(args[0] instanceof TorchTensorRef)) fail('parameter rebuilt from something that is not a tensor');
        return args[0];
      }
      throw new UnsafePickleError(label, `pickle: '${q}' may not be called`);
    },
    newobj(cls, args) {
      if (!(cls.module === '__torch__' || cls.module.startsWith('__torch__.') || cls.module.startsWith('torch.nn.modules.'))) {
        throw new UnsafePickleError(label, `pickle: '${cls.qualname}' may not be instantiated`);
      }
      return new PyObject(cls, args);
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') {
        throw new UnsafePickleError(label, `pickle: persistent id ${renderValue(pid)} is not a storage reference`);
      }
      const [, cls, key, , n] = pid;
      if (!(cls instanceof PyGlobal) || !(cls.name in STORAGE_DTYPES)) fail('storage reference without a storage class');
      if (typeof key !== 'string' || !/^[A-Za-z0-9_]+$/.test(key)) fail(`storage key ${renderValue(key)} is not a plain name`);
      if (!Number.isSafeInteger(n) || (n as number) < 0) fail(`storage size ${renderValue(n)} is not a non-negative integer`);
      const c = cls as PyGlobal;
      return { kind: 'storage', cls: c.qualname, dtype: STORAGE_DTYPES[c.name], key, numel: n } as StorageRef;
    },
    // torch._utils._rebuild_parameter_with_state and subclasses can BUILD onto a tensor; state is irrelevant.
    build(target) {
      if (!(target instanceof TorchTensorRef)) throw new UnsafePickleError(label, 'pickle: BUILD on a value that cannot take state');
    },
  };
}

/** Top-level dict keys under which training checkpoints nest their state_dict. */
const NESTED_STATE_KEYS = ['state_dict', 'model', 'model_state_dict', 'module'];

function collectStateDict(root: unknown, label: string, depth = 0): Map<string, TorchTensorRef> {
  const out = new Map<string, TorchTensorRef>();
  if (root instanceof PyObject) {
    walkModule(root, '', out, 0, { nodes: 0, label });
    // OpenAI's traced models carry these as int tensors at the root: constants, not weights.
    for (const k of ['input_resolution', 'context_length', 'vocab_size']) out.delete(k);
    return out;
  }
  if (!(root instanceof Map)) throw new WeightsFormatError(label, 'data.pkl holds neither a state_dict nor a TorchScript module');
  const tensors = [...root.entries()].filter(([, v]) => v instanceof TorchTensorRef);
  if (tensors.length === 0) {
    for (const k of NESTED_STATE_KEYS) {
      const inner = root.get(k);
      // depth-bounded: a dict can hold itself under 'state_dict' (memo references)
      if (inner instanceof Map && depth < NESTED_STATE_KEYS.length) return collectStateDict(inner, label, depth + 1);
    }
    throw new WeightsFormatError(label, 'data.pkl holds a dict without tensors (and no state_dict / model entry)');
  }
  for (const [k, v] of tensors) {
    if (typeof k !== 'string') throw new WeightsFormatError(label, `state_dict key ${renderValue(k)} is not a string`);
    out.set(k, v as TorchTensorRef);
  }
  return out;
}

function walkModule(obj: PyObject, prefix: string, out: Map<string, TorchTensorRef>, depth: number, budget: { nodes: number; label: string }): void {
  if (depth > 64) throw new WeightsFormatError(budget.label, `TorchScript module tree nested too deep at '${prefix.slice(0, 200)}'`);
  const state = obj.state;
  if (!(state instanceof Map)) return;
  for (const [k, v] of state) {
    if (++budget.nodes > MAX_WALK_NODES) {
      throw new WeightsFormatError(budget.label, `TorchScript module tree has more than ${MAX_WALK_NODES} entries (shared references repeated along many paths?)`);
    }
    if (typeof k !== 'string') continue;
    const name = prefix ? `${prefix}.${k}` : k;
    if (v instanceof TorchTensorRef) out.set(name, v);
    else if (v instanceof PyObject) walkModule(v, name, out, depth + 1, budget);
  }
}

function isContiguous(shape: number[], stride: number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && stride[i] !== expected) return false;
    expected *= shape[i];
  }
  return true;
}

/** An open PyTorch zip checkpoint or TorchScript archive. */
export class TorchCheckpoint {
  readonly label: string;
  readonly top: string;
  /** 'state_dict' (torch.save) or 'torchscript' (torch.jit.save module tree). */
  readonly kind: 'state_dict' | 'torchscript';
  private readonly zip: ZipFile;
  private readonly refs: Map<string, TorchTensorRef>;

  private constructor(zip: ZipFile) {
    this.zip = zip;
    this.label = zip.label;
    const pkls = zip.entries.map((e) => e.name).filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) {
      throw new WeightsFormatError(this.label, pkls.length === 0
        ? 'zip archive has no <top>/data.pkl: not a PyTorch checkpoint'
        : `zip archive has ${pkls.length} data.pkl entries (${pkls.join(', ')})`);
    }
    this.top = pkls[0].slice(0, -'/data.pkl'.length);
    const root = unpickle(zip.read(pkls[0], getLimits().maxHeaderBytes, 'maxHeaderBytes'), torchPolicy(`${this.label}:${pkls[0]}`), `${this.label}:${pkls[0]}`);
    this.kind = root instanceof PyObject ? 'torchscript' : 'state_dict';
    this.refs = collectStateDict(root, this.label);
    for (const [name, r] of this.refs) this.validate(name, r);
    this.checkAmplification();
  }

  /**
   * Views may share a storage (tied weights, saved slices), but all views together may not read more than
   * VIEW_AMPLIFICATION × the elements of the distinct storages present: otherwise a few KB of stride-0 views
   * of one small storage would make `convert` write gigabytes.
   */
  private checkAmplification(): void {
    const storages = new Map<string, number>();
    let viewElements = 0;
    for (const r of this.refs.values()) {
      storages.set(r.storage.key, r.storage.numel);
      viewElements += numel(r.shape);
    }
    let storageElements = 0;
    for (const n of storages.values()) storageElements += n;
    if (viewElements > VIEW_AMPLIFICATION * storageElements + VIEW_SLACK) {
      throw new WeightsFormatError(this.label, `tensor views read ${viewElements} elements from storages holding ${storageElements} (more than ${VIEW_AMPLIFICATION}× the data present: overlapping or stride-0 views)`);
    }
  }

  static open(path: string): TorchCheckpoint {
    const zip = ZipFile.open(path);
    try {
      return new TorchCheckpoint(zip);
    } catch (e) {
      zip.close();
      throw e;
    }
  }

  /** Check the view against its storage entry before any data is read. */
  private validate(name: string, r: TorchTensorRef): void {
    const fail = (p: string): never => { throw new WeightsFormatError(this.label, `tensor '${name}': ${p}`); };
    const s = r.storage;
    if (s.dtype === null) fail(`storage type ${s.cls} is not supported (only float and int64/int32 tensors)`);
    const entry = this.zip.entry(`${this.top}/data/${s.key}`);
    if (!entry) fail(`storage entry '${this.top}/data/${s.key}' is missing from the archive`);
    const item = ITEM_SIZE[s.dtype as StoredDtype];
    if (entry!.size !== s.numel * item) {
      fail(`storage '${s.key}' is ${entry!.size} bytes but ${s.cls} of ${s.numel} elements needs ${s.numel * item}`);
    }
    const count = numel(r.shape);
    const maxBytes = getLimits().maxTensorBytes;
    if (count * 4 > maxBytes) fail(`${count} elements exceed the limit maxTensorBytes`);
    // The whole storage is inflated and decoded when a view of it is read: bound it before anything is read.
    if (s.numel * 4 > maxBytes) fail(`storage '${s.key}' of ${s.numel} elements exceeds the limit maxTensorBytes`);
    // A view reading more elements than its storage holds repeats elements (stride 0 or overlapping strides).
    if (count > s.numel) fail(`view of ${count} elements reads a storage of only ${s.numel} (stride-0 or overlapping view)`);
    if (count > 0) {
      let last = r.offset;
      for (let i = 0; i < r.shape.length; i++) last += (r.shape[i] - 1) * r.stride[i];
      if (last >= s.numel) fail(`view (offset ${r.offset}, size [${r.shape}], stride [${r.stride}]) reaches element ${last} of a storage of ${s.numel}`);
    }
  }

  get names(): string[] { return [...this.refs.keys()]; }
  shape(name: string): number[] | undefined { return this.refs.get(name)?.shape.slice(); }
  storedDtype(name: string): StoredDtype | undefined { return this.refs.get(name)?.storage.dtype ?? undefined; }

  read(name: string): RawTensor {
    const r = this.refs.get(name);
    if (!r) throw new WeightsFormatError(this.label, `no tensor named '${name}'`);
    const dtype = r.storage.dtype as StoredDtype;
    const item = ITEM_SIZE[dtype];
    const count = numel(r.shape);
    const storage = this.zip.read(`${this.top}/data/${r.storage.key}`);
    const onRange = (): never => { throw new WeightsFormatError(this.label, `tensor '${name}': I64 value outside the int32 range`); };
    let data: Float32Array | Int32Array;
    if (isContiguous(r.shape, r.stride)) {
      data = decode(storage.subarray(r.offset * item, (r.offset + count) * item), dtype, onRange);
    } else {
      // Strided views are rare in state_dicts (a saved slice or transpose): gather element by element.
      const all = decode(storage, dtype, onRange);
      data = all instanceof Float32Array ? new Float32Array(count) : new Int32Array(count);
      const idx = new Array<number>(r.shape.length).fill(0);
      for (let i = 0; i < count; i++) {
        let off = r.offset;
        for (let d = 0; d < idx.length; d++) off += idx[d] * r.stride[d];
        data[i] = all[off];
        for (let d = idx.length - 1; d >= 0; d--) {
          if (++idx[d] < r.shape[d]) break;
          idx[d] = 0;
        }
      }
    }
    checkFinite(data, this.label, name);
    return { dtype: data instanceof Float32Array ? 'float32' : 'int32', shape: r.shape.slice(), data, storedAs: dtype };
  }

  readAll(): TensorMap {
    const out: TensorMap = new Map();
    for (const n of this.refs.keys()) out.set(n, this.read(n));
    return out;
  }

  close(): void { this.zip.close(); }
}

/** Old (pre-1.6) torch.save files are a bare pickle stream, not a zip. */
export function isLegacyTorchFile(path: string): boolean {
  const { fd } = openRegularFile(path, (p) => new WeightsFormatError(path, p));
  try {
    const b = Buffer.alloc(2);
    return fs.readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5;
  } finally {
    fs.closeSync(fd);
  }
}
