/**
 * Which ONNX Runtime operators give the fastest int8 matrix product with per-row (per-token) activation scales,
 * at equal accuracy: one product of a BERT-base shape ([m, k] × [k, n]) per variant, each in a fresh process. The
 * variants take turns for `--passes` passes (so load from other processes on a shared host hits them alike), and
 * each reports its best pass (a busy host only ever slows a run down). Accuracy is max |Δ| against the fp32
 * product over max |y|; "row alone" says whether a row computed alone equals the same row of the batch.
 * `perrow-u8-onepass-tofloat-rowscale` is what seqbatch builds (quantizeRows and int8Product of
 * src/models/layers/int8.ts: each row rounded, shifted and converted by one QuantizeLinear);
 * `perrow-u8-tofloat-rowscale` is the first lowering of the same product (Abs → ReduceMax, Round → Add → Cast).
 *
 *   npx tsx bench/int8-ops.ts [--m 512] [--k 768] [--n 3072] [--threads 2] [--rounds 3] [--passes 3]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { int8Product, quantizeLinearWeights, quantizeRows } from '../src/models/layers/int8.js';
import { GraphBuilder, type Value } from '../src/onnx/graph-builder.js';
import { TensorDataType } from '../src/onnx/proto.js';
import { sessionOptions } from '../src/runtime/session.js';
import { mulberry32 } from '../src/util/random.js';

const { values: opts } = parseArgs({
  options: {
    m: { type: 'string', default: '512' },
    k: { type: 'string', default: '768' },
    n: { type: 'string', default: '3072' },
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    passes: { type: 'string', default: '3' },
    variant: { type: 'string' },
  },
});
const M = Number(opts.m);
const K = Number(opts.k);
const N = Number(opts.n);
const MS = { domain: 'com.microsoft' };
const VARIANTS = [
  'fp32',
  'perrow-u8-matmulinteger',
  'perrow-u8-matmulintegertofloat',
  'perrow-u8-tofloat-rowscale',
  'perrow-u8-onepass-tofloat-rowscale',
  'perrow-u8-tofloat-rowscale-asym-s8w',
  'perrow-u8-tofloat-rowscale-asym-u8w',
  'perrow-u8-quantizelinear-tofloat',
  'perrow-s8-matmulinteger',
  'nbits8-blk32',
  'nbits8-blk128',
  'nbits8-blk256',
  'dynamicquantizematmul-pertensor',
];

function weights(): Float32Array {
  const r = mulberry32(7);
  return Float32Array.from({ length: N * K }, () => (r() - 0.5) * 0.1); // torch layout [N, K]
}

/**
 * Per output channel, asymmetric: scale = (max − min) / 255 over the channel (its range widened to hold 0), and a
 * zero point per channel: int8 weights in [−128, 127] (`signed`) or uint8 in [0, 255].
 */
function perChannelAsymmetric(
  w: Float32Array,
  signed: boolean,
): { q: Int8Array | Uint8Array; scale: Float32Array; zeroPoint: Int8Array | Uint8Array } {
  const q = signed ? new Int8Array(K * N) : new Uint8Array(K * N);
  const zeroPoint = signed ? new Int8Array(N) : new Uint8Array(N);
  const scale = new Float32Array(N);
  const low = signed ? -128 : 0;
  for (let o = 0; o < N; o++) {
    let [min, max] = [0, 0];
    for (let i = 0; i < K; i++) {
      min = Math.min(min, w[o * K + i]!);
      max = Math.max(max, w[o * K + i]!);
    }
    const s = (max - min) / 255 || 1;
    scale[o] = s;
    const zp = Math.min(low + 255, Math.max(low, low + Math.round(-min / s)));
    zeroPoint[o] = zp;
    for (let i = 0; i < K; i++)
      q[i * N + o] = Math.min(low + 255, Math.max(low, Math.round(w[o * K + i]! / s) + zp));
  }
  return { q, scale, zeroPoint };
}

function perChannel(w: Float32Array): { q: Int8Array; scale: Float32Array; colsum: Int32Array } {
  const q = new Int8Array(K * N); // [K, N]
  const scale = new Float32Array(N);
  const colsum = new Int32Array(N);
  for (let o = 0; o < N; o++) {
    let max = 0;
    for (let i = 0; i < K; i++) max = Math.max(max, Math.abs(w[o * K + i]!));
    const s = max / 127 || 1;
    scale[o] = s;
    for (let i = 0; i < K; i++) {
      const v = Math.round(w[o * K + i]! / s);
      q[i * N + o] = v;
      colsum[o]! += v;
    }
  }
  return { q, scale, colsum };
}

/** Per-row symmetric quantization of x [M, K]: scale [M, 1] and the quantized rows. */
function rowQuant(g: GraphBuilder, x: Value, signed: boolean, ql = false): { q: Value; scale: Value } {
  if (ql) {
    const max = g.op('ReduceMax', [g.op('Abs', [x])], { axes: [-1], keepdims: 0 });
    const scale = g.op('Max', [g.op('Div', [max, g.scalar(127)]), g.scalar(1e-30)]);
    const zp = g.op('Cast', [g.op('Add', [g.op('Mul', [scale, g.scalar(0)]), g.scalar(128)])], {
      to: TensorDataType.UINT8,
    });
    const q = g.op('QuantizeLinear', [x, scale, zp], { axis: 0 });
    return { q, scale: g.op('Unsqueeze', [scale, g.int64s([1])]) };
  }
  const max = g.op('ReduceMax', [g.op('Abs', [x])], { axes: [-1], keepdims: 1 });
  const scale = g.op('Max', [g.op('Div', [max, g.scalar(127)]), g.scalar(1e-30)]);
  let r = g.op('Round', [g.op('Div', [x, scale])]);
  if (!signed) r = g.op('Add', [r, g.scalar(128)]);
  const q = g.op('Cast', [r], { to: signed ? TensorDataType.INT8 : TensorDataType.UINT8 });
  return { q, scale };
}

function build(variant: string): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['m', K]);
  const w = weights();
  let y: Value;
  if (variant === 'fp32') {
    const t = new Float32Array(K * N);
    for (let o = 0; o < N; o++) for (let i = 0; i < K; i++) t[i * N + o] = w[o * K + i]!;
    y = g.op('MatMul', [x, g.initializer('w', t, [K, N])]);
  } else if (variant === 'perrow-u8-onepass-tofloat-rowscale') {
    const { weight, scales } = quantizeLinearWeights([{ outFeatures: N, read: () => w }], K);
    const zeroPoint = g.constant(new Uint8Array([128]), []);
    const quantized = {
      weight: g.initializer('wq', weight, [K, N]),
      scales: g.initializer('ws', scales, [N]),
    };
    y = int8Product(g, quantizeRows(g, x, zeroPoint), { ...quantized, zeroPoints: null }, zeroPoint);
  } else if (variant.includes('-asym-')) {
    const { q, scale, zeroPoint } = perChannelAsymmetric(w, variant.endsWith('s8w'));
    const rq = rowQuant(g, x, false);
    y = g.op(
      'MatMulIntegerToFloat',
      [
        rq.q,
        g.initializer('wq', q, [K, N]),
        rq.scale,
        g.initializer('ws', scale, [N]),
        g.constant(new Uint8Array([128]), []),
        g.initializer('wzp', zeroPoint, [N]),
      ],
      {},
      MS,
    );
  } else if (variant.startsWith('perrow')) {
    const { q, scale } = perChannel(w);
    const signed = variant.includes('-s8-');
    const rq = rowQuant(g, x, signed, variant.includes('quantizelinear'));
    const wq = g.initializer('wq', q, [K, N]);
    const ws = g.initializer('ws', scale, [N]);
    if (variant.endsWith('rowscale')) {
      y = g.op(
        'MatMulIntegerToFloat',
        [rq.q, wq, rq.scale, ws, g.constant(new Uint8Array([128]), []), null],
        {},
        MS,
      );
    } else if (variant.endsWith('tofloat')) {
      y = g.op(
        'MatMulIntegerToFloat',
        [rq.q, wq, g.scalar(1), ws, g.constant(new Uint8Array([128]), []), null],
        {},
        MS,
      );
      y = g.op('Mul', [y, rq.scale]);
    } else {
      const zp = signed ? [] : [g.constant(new Uint8Array([128]), [])];
      const acc = g.op('MatMulInteger', [rq.q, wq, ...zp]);
      y = g.op('Mul', [g.op('Mul', [g.op('Cast', [acc], { to: TensorDataType.FLOAT }), ws]), rq.scale]);
    }
  } else if (variant.startsWith('nbits8')) {
    const blk = Number(variant.split('blk')[1]);
    const blocks = Math.ceil(K / blk);
    const b = new Uint8Array(N * blocks * blk);
    const scales = new Float32Array(N * blocks);
    for (let o = 0; o < N; o++) {
      for (let bi = 0; bi < blocks; bi++) {
        let max = 0;
        for (let i = bi * blk; i < Math.min(K, (bi + 1) * blk); i++)
          max = Math.max(max, Math.abs(w[o * K + i]!));
        const s = max / 127 || 1;
        scales[o * blocks + bi] = s;
        for (let j = 0; j < blk; j++) {
          const i = bi * blk + j;
          b[(o * blocks + bi) * blk + j] = i < K ? Math.round(w[o * K + i]! / s) + 128 : 128;
        }
      }
    }
    y = g.op(
      'MatMulNBits',
      [x, g.initializer('b', b, [N, blocks, blk]), g.initializer('s', scales, [N * blocks])],
      { K, N, bits: 8, block_size: blk, accuracy_level: 4 },
      MS,
    );
  } else if (variant === 'dynamicquantizematmul-pertensor') {
    const { q, scale } = perChannel(w);
    y = g.op(
      'DynamicQuantizeMatMul',
      [x, g.initializer('wq', q, [K, N]), g.initializer('ws', scale, [N]), null, null],
      {},
      MS,
    );
  } else throw new Error(variant);
  g.output(y, 'y', 'float32', ['m', N]);
  return g.toBytes();
}

async function measure(
  variant: string,
): Promise<{ gflops: number; maxRel: number; rowIndependent: boolean }> {
  const session = await ort.InferenceSession.create(
    build(variant),
    sessionOptions({ threads: Number(opts.threads) }),
  );
  const ref = await ort.InferenceSession.create(build('fp32'), sessionOptions({ threads: 1 }));
  const r = mulberry32(11);
  const data = Float32Array.from({ length: M * K }, () => (r() - 0.5) * 4);
  const feed = { x: new ort.Tensor('float32', data, [M, K]) };
  const out = (await session.run(feed)).y!.data as Float32Array;
  const exact = (await ref.run(feed)).y!.data as Float32Array;
  let maxRel = 0;
  let scaleRef = 0;
  for (const v of exact) scaleRef = Math.max(scaleRef, Math.abs(v));
  for (let i = 0; i < out.length; i++) maxRel = Math.max(maxRel, Math.abs(out[i]! - exact[i]!) / scaleRef);
  // Row 3 alone must equal row 3 of the batch.
  const alone = (await session.run({ x: new ort.Tensor('float32', data.slice(3 * K, 4 * K), [1, K]) })).y!
    .data as Float32Array;
  let rowIndependent = true;
  for (let j = 0; j < N; j++)
    if (Math.abs(alone[j]! - out[3 * N + j]!) > 1e-5 * (1 + Math.abs(alone[j]!))) rowIndependent = false;
  const samples: number[] = [];
  const reps = Math.max(3, Math.round(3e9 / (M * K * N)));
  for (let round = 0; round < Number(opts.rounds); round++) {
    const start = performance.now();
    for (let i = 0; i < reps; i++) await session.run(feed);
    samples.push((2 * M * K * N) / ((performance.now() - start) / 1000 / reps) / 1e9);
  }
  return { gflops: Math.max(...samples), maxRel, rowIndependent };
}

if (opts.variant) {
  try {
    console.log(JSON.stringify(await measure(opts.variant)));
  } catch (e) {
    console.log(JSON.stringify({ error: (e as Error).message.slice(0, 200) }));
  }
} else {
  const self = fileURLToPath(import.meta.url);
  const best = new Map<string, { gflops: number; maxRel: number; rowIndependent: boolean } | string>();
  for (let pass = 0; pass < Number(opts.passes); pass++) {
    for (const variant of VARIANTS) {
      const args = ['--variant', variant, '--m', String(M), '--k', String(K), '--n', String(N)];
      args.push('--threads', opts.threads!, '--rounds', opts.rounds!);
      const child = spawnSync(process.execPath, [...process.execArgv, self, ...args], { encoding: 'utf8' });
      const r = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
        gflops: number;
        maxRel: number;
        rowIndependent: boolean;
        error?: string;
      };
      const known = best.get(variant);
      if (r.error) best.set(variant, r.error);
      else if (known === undefined || typeof known === 'string' || known.gflops < r.gflops)
        best.set(variant, r);
    }
  }
  console.log(`m=${M} k=${K} n=${N}, ${opts.threads} threads, best of ${opts.passes} interleaved passes\n`);
  console.log(
    '| variant | GFLOPS (fp32-equivalent) | × fp32 | max abs Δ / max abs y | row alone = row of batch |',
  );
  console.log('|---|---|---|---|---|');
  const fp32 = best.get('fp32');
  for (const variant of VARIANTS) {
    const r = best.get(variant)!;
    if (typeof r === 'string') console.log(`| ${variant} | error: ${r} | | | |`);
    else {
      const ratio = typeof fp32 === 'object' ? (r.gflops / fp32.gflops).toFixed(2) : '';
      console.log(
        `| ${variant} | ${r.gflops.toFixed(1)} | ${ratio} | ${r.maxRel.toExponential(2)} | ${r.rowIndependent} |`,
      );
    }
  }
}
