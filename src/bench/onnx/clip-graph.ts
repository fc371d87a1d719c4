/**
 * Both CLIP towers as ONNX graphs (opset 17), built from the same canonical weights as a ClipModel, so the
 * benchmark's onnxruntime peer computes the same function as our encoders (checked by the bench's parity
 * row). The graphs are what a PyTorch export of CLIP looks like: MatMul + Add linears with [in, out]
 * initializers, LayerNormalization, Softmax attention over [n, heads, T, D], QuickGELU as x·σ(1.702x).
 * Batch size is fixed per graph (the bench runs one batch size per tower).
 */
import { transpose2d } from '../../tensor/host';
import type { Activation, ClipConfig } from '../../config/clip';
import { TEXT_BLOCK_PREFIX, VISION_BLOCK_PREFIX } from '../../weights/names';
import type { TensorMap } from '../../weights/types';
import { AttrValue, model, Msg, node, tensorProto, valueInfo } from './proto';
import { MASK_BLOCKED } from '../../clip/text';

const OPSET = 17; // LayerNormalization

class Graph {
  readonly nodes: Msg[] = [];
  readonly initializers: Msg[] = [];
  private n = 0;
  constructor(private readonly weights: TensorMap) {}

  private fresh(hint: string): string {
    return `${hint}_${this.n++}`;
  }
  op(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, hint = op.toLowerCase()): string {
    const out = this.fresh(hint);
    this.nodes.push(node(op, inputs, [out], attrs));
    return out;
  }
  constF(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push(tensorProto(name, 'float', dims, data));
    return name;
  }
  constI64(values: number[], scalar = false): string {
    const name = this.fresh('i64');
    this.initializers.push(tensorProto(name, 'int64', scalar ? [] : [values.length], BigInt64Array.from(values.map(BigInt))));
    return name;
  }
  scalar(v: number): string {
    return this.constF(this.fresh('c'), [], Float32Array.of(v));
  }
  weight(name: string): string {
    const t = this.weights.get(name);
    if (!t) throw new Error(`internal: weight '${name}' missing`);
    return this.constF(name, t.shape, t.data as Float32Array);
  }
  /** A PyTorch [out, in] weight as the [in, out] initializer that MatMul takes. */
  weightInOut(name: string): string {
    const t = this.weights.get(name)!;
    const [o, i] = t.shape;
    return this.constF(`${name}.T`, [i, o], transpose2d(t.data as Float32Array, o, i));
  }
  linear(x: string, prefix: string, wName = `${prefix}.weight`, bName = `${prefix}.bias`): string {
    return this.op('Add', [this.op('MatMul', [x, this.weightInOut(wName)]), this.weight(bName)]);
  }
  layerNorm(x: string, prefix: string, eps: number): string {
    return this.op('LayerNormalization', [x, this.weight(`${prefix}.weight`), this.weight(`${prefix}.bias`)], {
      axis: -1,
      epsilon: { float: eps },
    });
  }
  reshape(x: string, shape: number[]): string {
    return this.op('Reshape', [x, this.constI64(shape)]);
  }
  transpose(x: string, perm: number[]): string {
    return this.op('Transpose', [x], { perm });
  }
}

/** One pre-LN residual block on x [n,T,W]; `mask` is an initializer [T,T] or null. */
function block(
  g: Graph,
  x: string,
  prefix: string,
  n: number,
  T: number,
  W: number,
  heads: number,
  act: Activation,
  eps: number,
  mask: string | null,
): string {
  const D = W / heads;
  const qkv = g.linear(
    g.layerNorm(x, `${prefix}.ln_1`, eps),
    `${prefix}.attn`,
    `${prefix}.attn.in_proj_weight`,
    `${prefix}.attn.in_proj_bias`,
  );
  const split = g.transpose(g.reshape(qkv, [n, T, 3, heads, D]), [2, 0, 3, 1, 4]); // [3,n,H,T,D]
  const [q, k, v] = [0, 1, 2].map((i) => g.op('Gather', [split, g.constI64([i], true)], { axis: 0 }));
  let scores = g.op('MatMul', [g.op('Mul', [q, g.scalar(1 / Math.sqrt(D))]), g.transpose(k, [0, 1, 3, 2])]);
  if (mask) scores = g.op('Add', [scores, mask]);
  const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]); // [n,H,T,D]
  const attn = g.linear(g.reshape(g.transpose(ctx, [0, 2, 1, 3]), [n, T, W]), `${prefix}.attn.out_proj`);
  const h = g.op('Add', [x, attn]);
  const f = g.linear(g.layerNorm(h, `${prefix}.ln_2`, eps), `${prefix}.mlp.c_fc`);
  const a =
    act === 'quick_gelu'
      ? g.op('Mul', [f, g.op('Sigmoid', [g.op('Mul', [f, g.scalar(1.702)])])])
      : g.op('Mul', [g.op('Mul', [f, g.scalar(0.5)]), g.op('Add', [g.scalar(1), g.op('Erf', [g.op('Mul', [f, g.scalar(Math.SQRT1_2)])])])]);
  return g.op('Add', [h, g.linear(a, `${prefix}.mlp.c_proj`)]);
}

function finish(g: Graph, name: string, input: Msg, tokens: string, embeds: string, n: number, T: number, E: number): Uint8Array {
  g.nodes.push(node('Identity', [tokens], ['tokens']), node('Identity', [embeds], ['embeds']));
  return model(
    {
      name,
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [input],
      outputs: [valueInfo('embeds', 'float', [n, E]), valueInfo('tokens', 'float', [n, T, E])],
    },
    OPSET,
  );
}

/** Image tower: input `pixels` float32 [n,3,R,R] → `embeds` [n,E] (CLS), `tokens` [n,T,E] (every token). */
export function visionGraph(c: ClipConfig, weights: TensorMap, n: number): Uint8Array {
  const g = new Graph(weights);
  const p = c.vision.patchSize,
    grid = c.vision.resolution / p,
    P = grid * grid,
    T = P + 1,
    W = c.vision.width,
    eps = c.vision.layerNormEps;
  const patches = g.op('Conv', ['pixels', g.weight('visual.conv1.weight')], { kernel_shape: [p, p], strides: [p, p] }); // [n,W,g,g]
  const rows = g.transpose(g.reshape(patches, [n, W, P]), [0, 2, 1]);
  const cls = new Float32Array(n * W);
  for (let i = 0; i < n; i++) cls.set(weights.get('visual.class_embedding')!.data as Float32Array, i * W);
  let x = g.op('Concat', [g.constF('cls_rows', [n, 1, W], cls), rows], { axis: 1 });
  x = g.layerNorm(g.op('Add', [x, g.weight('visual.positional_embedding')]), 'visual.ln_pre', eps);
  for (let i = 0; i < c.vision.layers; i++) x = block(g, x, `${VISION_BLOCK_PREFIX}${i}`, n, T, W, c.vision.heads, c.vision.act, eps, null);
  const tokens = g.op('MatMul', [g.layerNorm(x, 'visual.ln_post', eps), g.weight('visual.proj')]);
  const embeds = g.op('Gather', [tokens, g.constI64([0], true)], { axis: 1 });
  return finish(
    g,
    'clip-vision',
    valueInfo('pixels', 'float', [n, 3, c.vision.resolution, c.vision.resolution]),
    tokens,
    embeds,
    n,
    T,
    c.embedDim,
  );
}

/** Text tower: input `ids` int32 [n,L] (L = context) → `embeds` [n,E] at each row's first largest id, `tokens` [n,L,E]. */
export function textGraph(c: ClipConfig, weights: TensorMap, n: number): Uint8Array {
  const g = new Graph(weights);
  const L = c.text.contextLength,
    W = c.text.width,
    eps = c.text.layerNormEps;
  const causal = new Float32Array(L * L);
  for (let i = 0; i < L; i++) for (let j = i + 1; j < L; j++) causal[i * L + j] = MASK_BLOCKED;
  const mask = g.constF('causal_mask', [L, L], causal);
  let x = g.op('Add', [g.op('Gather', [g.weight('token_embedding.weight'), 'ids'], { axis: 0 }), g.weight('positional_embedding')]);
  for (let i = 0; i < c.text.layers; i++) x = block(g, x, `${TEXT_BLOCK_PREFIX}${i}`, n, L, W, c.text.heads, c.text.act, eps, mask);
  const tokens = g.op('MatMul', [g.layerNorm(x, 'ln_final', eps), g.weight('text_projection')]);
  const eot = g.op('ArgMax', ['ids'], { axis: 1, keepdims: 1 }); // first max, as the reference's argmax
  const embeds = g.op('GatherND', [tokens, eot], { batch_dims: 1 });
  return finish(g, 'clip-text', valueInfo('ids', 'int32', [n, L]), tokens, embeds, n, L, c.embedDim);
}
