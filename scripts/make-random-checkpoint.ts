/**
 * Writes a DistilBERT checkpoint with seeded random weights, shaped like distilbert-base-uncased-finetuned-sst-2-english
 * (its config.json and tokenizer files are copied from ../shared/reference). The math and the cost of a forward
 * pass do not depend on the weight values, so benchmarks and end-to-end tests use this instead of the real 268 MB
 * download. Every bias and LayerNorm parameter is randomised too, so a loader that drops or swaps one is caught.
 *
 *   npx tsx scripts/make-random-checkpoint.ts [OUT_DIR] [--seed N] [--layers N] [--hidden N] [--heads N]
 *                                              [--intermediate N]
 *
 * OUT_DIR defaults to .cache/distilbert-base-random (gitignored). The shape flags shrink the model for fast tests;
 * without them the checkpoint has the reference shape (66.9M parameters).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { buildModelGraph, type ModelTask } from '../src/models/index.js';
import { mulberry32 } from '../src/util/random.js';
import type { WeightStore } from '../src/weights/types.js';
import { writeSafetensorsFile, type LazyTensorToWrite } from '../src/weights/write.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REFERENCE_DIR = resolve(
  process.env.SEQBATCH_SHARED ?? join(repoRoot, '..', 'shared'),
  'reference',
  'distilbert-base-uncased-finetuned-sst-2-english',
);
export const DEFAULT_OUT_DIR = join(repoRoot, '.cache', 'distilbert-base-random');
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt', 'special_tokens_map.json'];

export interface RandomCheckpointOptions {
  seed?: number;
  /** Overrides of the reference shape (n_layers, dim, n_heads, hidden_dim). */
  layers?: number;
  hidden?: number;
  heads?: number;
  intermediate?: number;
  /** Folder holding the reference config.json and tokenizer files. */
  referenceDir?: string;
}

/** Normal samples by Box–Muller, two per pair of uniforms. */
export function normals(random: () => number, count: number, mean: number, std: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < count) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return out;
}

/** Writes the checkpoint folder; returns the config that was written. */
export async function makeRandomCheckpoint(
  outDir: string = DEFAULT_OUT_DIR,
  options: RandomCheckpointOptions = {},
): Promise<Record<string, unknown>> {
  const referenceDir = options.referenceDir ?? REFERENCE_DIR;
  if (!existsSync(join(referenceDir, 'config.json'))) {
    throw new Error(
      `reference config not found at ${referenceDir}/config.json (../shared beside the repo holds it)`,
    );
  }
  const config = JSON.parse(readFileSync(join(referenceDir, 'config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  if (options.layers !== undefined) config.n_layers = options.layers;
  if (options.hidden !== undefined) config.dim = options.hidden;
  if (options.heads !== undefined) config.n_heads = options.heads;
  if (options.intermediate !== undefined) config.hidden_dim = options.intermediate;
  config._name_or_path = 'seqbatch random DistilBERT (seeded; not a trained model)';

  const dim = config.dim as number;
  const hidden = config.hidden_dim as number;
  const vocab = config.vocab_size as number;
  const positions = config.max_position_embeddings as number;
  const layers = config.n_layers as number;
  const labels = Object.keys(config.id2label as object).length;
  const pad = (config.pad_token_id as number | undefined) ?? 0;
  if (dim % (config.n_heads as number) !== 0)
    throw new Error(`dim ${dim} is not a multiple of n_heads ${config.n_heads}`);

  const random = mulberry32(options.seed ?? 42);
  const std = (config.initializer_range as number | undefined) ?? 0.02;
  const tensors: LazyTensorToWrite[] = [];
  const add = (name: string, shape: number[], make: () => Float32Array) =>
    tensors.push({ name, dtype: 'F32', shape, data: make });
  const weight = (name: string, shape: number[]) =>
    add(name, shape, () =>
      normals(
        random,
        shape.reduce((a, b) => a * b, 1),
        0,
        std,
      ),
    );
  const bias = (name: string, size: number) => add(name, [size], () => normals(random, size, 0, 0.1));
  const layerNorm = (prefix: string) => {
    add(`${prefix}.weight`, [dim], () => normals(random, dim, 1, 0.1));
    bias(`${prefix}.bias`, dim);
  };

  add('distilbert.embeddings.word_embeddings.weight', [vocab, dim], () => {
    const table = normals(random, vocab * dim, 0, std);
    table.fill(0, pad * dim, (pad + 1) * dim); // HF keeps the padding row at zero
    return table;
  });
  weight('distilbert.embeddings.position_embeddings.weight', [positions, dim]);
  layerNorm('distilbert.embeddings.LayerNorm');
  for (let i = 0; i < layers; i++) {
    const p = `distilbert.transformer.layer.${i}`;
    for (const lin of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) {
      weight(`${p}.attention.${lin}.weight`, [dim, dim]);
      bias(`${p}.attention.${lin}.bias`, dim);
    }
    layerNorm(`${p}.sa_layer_norm`);
    weight(`${p}.ffn.lin1.weight`, [hidden, dim]);
    bias(`${p}.ffn.lin1.bias`, hidden);
    weight(`${p}.ffn.lin2.weight`, [dim, hidden]);
    bias(`${p}.ffn.lin2.bias`, dim);
    layerNorm(`${p}.output_layer_norm`);
  }
  weight('pre_classifier.weight', [dim, dim]);
  bias('pre_classifier.bias', dim);
  weight('classifier.weight', [labels, dim]);
  bias('classifier.bias', labels);

  mkdirSync(outDir, { recursive: true });
  // Tensors are produced one at a time while writing, in the order above, so the seed fixes every value.
  await writeSafetensorsFile(join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  for (const file of TOKENIZER_FILES) {
    // Copied by content: the shared originals are read-only and a mode-preserving copy could not be overwritten.
    if (existsSync(join(referenceDir, file)))
      writeFileSync(join(outDir, file), readFileSync(join(referenceDir, file)));
  }
  return config;
}

/**
 * A seeded random checkpoint of any registered architecture from its config.json alone (the benchmarks' base-size
 * rows). The graph builder runs once against a store that records every tensor it reads, with the shape it expects;
 * those tensors are then written with random values: LayerNorm weights 1 + N(0, 0.1²), biases N(0, 0.1²), the rest
 * N(0, initializer_range²). The store answers `has` with true, so the checkpoint takes the layout of a task model
 * (`<base>.` prefixes). Writes config.json and model.safetensors; returns the parameter count.
 */
export async function makeRandomCheckpointFromConfig(
  outDir: string,
  config: Record<string, unknown>,
  options: { seed?: number; task?: ModelTask } = {},
): Promise<{ parameters: number }> {
  const read = new Map<string, number[]>();
  const recorder: WeightStore = {
    files: ['(random)'],
    names: () => [...read.keys()],
    has: () => true,
    info: (name) => (read.has(name) ? { dtype: 'F32', shape: read.get(name)! } : undefined),
    getFloat32: (name, shape) => {
      if (!shape) throw new Error(`makeRandomCheckpointFromConfig: ${name} was read without a shape`);
      read.set(name, shape);
      return { shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
    },
  };
  buildModelGraph(config, recorder, {
    task: options.task ?? 'sequence-classification',
    firstTokenOnly: false,
  });
  const random = mulberry32(options.seed ?? 42);
  const std = (config.initializer_range as number | undefined) ?? 0.02;
  let parameters = 0;
  const tensors: LazyTensorToWrite[] = [...read].map(([name, shape]) => {
    const count = shape.reduce((a, b) => a * b, 1);
    parameters += count;
    const [mean, sd] = /norm\.weight$/i.test(name) ? [1, 0.1] : name.endsWith('.bias') ? [0, 0.1] : [0, std];
    return { name, dtype: 'F32', shape, data: () => normals(random, count, mean, sd) };
  });
  mkdirSync(outDir, { recursive: true });
  await writeSafetensorsFile(join(outDir, 'model.safetensors'), tensors, { format: 'pt' });
  writeFileSync(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { parameters };
}

function parseArgs(argv: string[]): { outDir: string; options: RandomCheckpointOptions } {
  const options: RandomCheckpointOptions = {};
  let outDir = DEFAULT_OUT_DIR;
  const flags: Record<string, keyof RandomCheckpointOptions> = {
    '--seed': 'seed',
    '--layers': 'layers',
    '--hidden': 'hidden',
    '--heads': 'heads',
    '--intermediate': 'intermediate',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const key = flags[arg];
    if (key) {
      const value = Number(argv[++i]);
      if (!Number.isSafeInteger(value) || value < (key === 'seed' ? 0 : 1)) {
        throw new Error(`${arg}: expected an integer, got ${argv[i]}`);
      }
      (options as Record<string, number>)[key] = value;
    } else if (arg.startsWith('--')) {
      throw new Error(`unknown flag ${arg} (flags: ${Object.keys(flags).join(', ')})`);
    } else {
      outDir = resolve(arg);
    }
  }
  return { outDir, options };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { outDir, options } = parseArgs(process.argv.slice(2));
  const config = await makeRandomCheckpoint(outDir, options);
  process.stdout.write(
    `wrote ${outDir}: DistilBERT dim ${config.dim}, ${config.n_layers} layers, vocab ${config.vocab_size} (seed ${options.seed ?? 42})\n`,
  );
}
