/**
 * What ONNX Runtime's fp32 matrix products (MLAS) sustain on this machine, for the four weight shapes of a
 * DistilBERT-base layer, as the ceiling the encoder benchmarks run against:
 *
 *   npx tsx bench/gemm.ts [--threads 2] [--rounds 5] [--rows 256,512,832,1024]
 *
 * Each shape runs in a fresh process holding one session (one MatMul with a constant [K, N] weight, prepacked by
 * ORT as in the model graphs), because the idle intra-op threads of a second session spin and steal the cores.
 * Rows M are the tokens of a batch. GFLOPS = 2·M·K·N / seconds, median of the rounds. Compare with the machine's
 * FMA peak (bench/peak/fma.c). `--dtype int8` measures seqbatch's int8 product instead (per-row uint8 activations
 * into MatMulIntegerToFloat with per-channel int8 weights, src/models/layers/int8.ts, the quantization of the rows
 * included), in fp32-equivalent GFLOPS; `--dtype both` prints both tables from the same run, shapes interleaved.
 * Prints Markdown, with the CPU's int8-relevant flags (AVX2, AVX-512 VNNI, AVX-VNNI, AMX).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { int8Product, quantizeLinearWeights, quantizeRows } from '../src/models/layers/int8.js';
import { GraphBuilder } from '../src/onnx/graph-builder.js';
import { sessionOptions } from '../src/runtime/session.js';
import { mulberry32 } from '../src/util/random.js';
import { cpuFlagsMarkdown, machineInfo, machineMarkdown } from './lib/machine.js';
import { markdownTable, median } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    threads: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '5' },
    rows: { type: 'string', default: '256,512,832,1024' },
    shape: { type: 'string' },
    dtype: { type: 'string', default: 'fp32' },
  },
});
const rows = opts.rows!.split(',').map(Number);
/** [K, N] of the layer's weights: attention output, feed-forward in, feed-forward out, fused Q/K/V. */
const SHAPES: [number, number][] = [
  [768, 768],
  [768, 3072],
  [3072, 768],
  [768, 2304],
];

/** In the child: GFLOPS per row count for one shape, median of the rounds. */
async function measureShape(k: number, n: number, dtype: string): Promise<number[]> {
  const random = mulberry32(k * 31 + n);
  const g = new GraphBuilder();
  const x = g.input('x', 'float32', ['m', k]);
  const weights = Float32Array.from({ length: k * n }, () => random() - 0.5);
  if (dtype === 'int8') {
    const { weight, scales } = quantizeLinearWeights([{ outFeatures: n, read: () => weights }], k);
    const zeroPoint = g.constant(new Uint8Array([128]), []);
    const product = int8Product(
      g,
      quantizeRows(g, x, zeroPoint),
      {
        weight: g.initializer('w', weight, [k, n]),
        scales: g.initializer('w_scales', scales, [n]),
        zeroPoints: null,
      },
      zeroPoint,
    );
    g.output(product, 'y', 'float32', ['m', n]);
  } else {
    g.output(g.op('MatMul', [x, g.initializer('w', weights, [k, n])]), 'y', 'float32', ['m', n]);
  }
  const session = await ort.InferenceSession.create(
    g.toBytes(),
    sessionOptions({ threads: Number(opts.threads) }),
  );
  const samples = rows.map(() => [] as number[]);
  for (let round = 0; round < Number(opts.rounds); round++) {
    for (const [i, m] of rows.entries()) {
      const feed = {
        x: new ort.Tensor(
          'float32',
          Float32Array.from({ length: m * k }, () => random()),
          [m, k],
        ),
      };
      await session.run(feed);
      const reps = Math.max(3, Math.round(3e9 / (m * k * n)));
      const start = performance.now();
      for (let r = 0; r < reps; r++) await session.run(feed);
      const seconds = (performance.now() - start) / 1000 / reps;
      samples[i]!.push((2 * m * k * n) / seconds / 1e9);
    }
  }
  await session.release();
  return samples.map(median);
}

if (opts.shape) {
  const [k, n] = opts.shape.split(',').map(Number) as [number, number];
  console.log(JSON.stringify(await measureShape(k, n, opts.dtype!)));
} else {
  console.log(machineMarkdown(machineInfo(['onnxruntime-node'])));
  console.log(cpuFlagsMarkdown());
  const dtypes = opts.dtype === 'both' ? ['fp32', 'int8'] : [opts.dtype!];
  const tables = new Map<string, string[][]>(dtypes.map((d) => [d, []]));
  for (const [k, n] of SHAPES)
    for (const dtype of dtypes) tables.get(dtype)!.push(measureInChild(k, n, dtype));
  for (const dtype of dtypes) {
    const what = dtype === 'int8' ? "seqbatch's int8 product (fp32-equivalent GFLOPS)" : 'MatMul, fp32';
    console.log(
      `\nONNX Runtime ${what}, ${opts.threads} intra-op threads, GFLOPS (median of ${opts.rounds} rounds) by rows M:\n`,
    );
    console.log(markdownTable(['weight K × N', ...rows.map((m) => `M = ${m}`)], tables.get(dtype)!));
  }
}

function measureInChild(k: number, n: number, dtype: string): string[] {
  {
    const child = spawnSync(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(import.meta.url),
        '--shape',
        `${k},${n}`,
        '--threads',
        opts.threads!,
        '--rounds',
        opts.rounds!,
        '--rows',
        opts.rows!,
        '--dtype',
        dtype,
      ],
      { encoding: 'utf8' },
    );
    if (child.status !== 0) throw new Error(`shape ${k}×${n} failed: ${child.stderr}`);
    const gflops = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as number[];
    return [`${k} × ${n}`, ...gflops.map((v) => v.toFixed(0))];
  }
}
