/**
 * `seqbatch forward --model DIR --input FILE.json`: runs a checkpoint on explicit tensors (already tokenized ids,
 * as nested arrays) and prints one JSON object with the outputs under their HF names. The head comes from
 * `config.architectures` (override with --task). Floats are printed as the shortest decimal that reads back as
 * the same float32, the convention of the fixtures.
 */
import { readFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { PreTrainedModel, type ModelOutput } from '../../models/auto.js';
import { AutoConfig } from '../../models/config.js';
import { MODEL_TASKS, taskFromConfig, type ModelTask } from '../../models/index.js';
import { GRAPH_OPTIMIZATION_LEVELS, type GraphOptimizationLevel } from '../../runtime/session.js';
import { FloatTensor } from '../../runtime/tensor.js';
import type { Int8WeightScheme } from '../../models/layers/int8.js';
import { addDtypeOptions, dtypeFlags } from './shared-model.js';

export interface ForwardCliOptions {
  model: string;
  dtype?: 'fp32' | 'int8';
  int8Exclude?: string;
  int8Weights?: Int8WeightScheme;
  input: string;
  task?: ModelTask;
  outputHiddenStates?: boolean;
  outputAttentions?: boolean;
  threads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** commander's --no-cache sets this to false. */
  cache?: boolean;
}

export interface ForwardIO {
  stdin?: Readable;
  stdout?: Writable;
}

const INPUT_KEYS = [
  'input_ids',
  'attention_mask',
  'token_type_ids',
  'position_ids',
  'global_attention_mask',
  'labels',
  'start_positions',
  'end_positions',
] as const;

export function positiveInteger(flag: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) {
      throw new InvalidArgumentError(`${flag}: expected a positive integer, got "${value}"`);
    }
    return Number(value);
  };
}

export function register(program: Command): void {
  const command = program
    .command('forward')
    .description(
      'run a checkpoint on input_ids (+ masks, labels) from a JSON file and print the outputs as JSON',
    )
    .requiredOption('--model <dir>', 'checkpoint folder (config.json + model.safetensors)')
    .requiredOption(
      '--input <file>',
      'JSON object with input_ids and optionally attention_mask, token_type_ids, position_ids, ' +
        'global_attention_mask (Longformer), labels, start_positions, end_positions (nested arrays); "-" reads stdin',
    )
    .addOption(
      new Option('--task <task>', 'head to run (default: from config.architectures)').choices(MODEL_TASKS),
    )
    .option('--output-hidden-states', 'also print hidden_states (embedding output + one per layer)')
    .option('--output-attentions', 'also print attentions (per layer, after softmax)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default 2)', positiveInteger('--threads'))
    .addOption(
      new Option('--graph-optimization-level <level>', 'ONNX Runtime graph optimisations').choices(
        GRAPH_OPTIMIZATION_LEVELS,
      ),
    )
    .option('--no-cache', 'do not read or write the built-graph cache (SEQBATCH_CACHE or ~/.cache/seqbatch)');
  addDtypeOptions(command).action(async (options: ForwardCliOptions) => {
    await runForward(options);
  });
}

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads and checks the --input JSON (an object holding at least input_ids; no unknown keys). */
export async function readForwardInput(
  path: string,
  stdin: Readable = process.stdin,
): Promise<Record<string, unknown>> {
  const where = path === '-' ? 'stdin' : path;
  let text: string;
  try {
    text = path === '-' ? await readAll(stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new InputError(`--input ${where}: cannot read (${(error as Error).message})`, {
      argument: '--input',
      file: where,
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new InputError(`--input ${where}: not valid JSON (${(error as Error).message})`, {
      argument: '--input',
      file: where,
    });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InputError(`--input ${where}: expected a JSON object with input_ids`, {
      argument: '--input',
      file: where,
    });
  }
  const unknown = Object.keys(json).filter((k) => !(INPUT_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) {
    throw new InputError(
      `--input ${where}: unknown keys ${unknown.join(', ')} (expected ${INPUT_KEYS.join(', ')})`,
      {
        argument: '--input',
        file: where,
        field: unknown[0],
      },
    );
  }
  if (!('input_ids' in json)) {
    throw new InputError(`--input ${where}: input_ids is required`, {
      argument: '--input',
      file: where,
      field: 'input_ids',
    });
  }
  return json as Record<string, unknown>;
}

/** The shortest decimal that reads back (through Math.fround) as the same float32. */
export function shortestFloat32(value: number): string {
  if (!Number.isFinite(value)) return JSON.stringify(value); // null: JSON has no NaN/Infinity
  for (let digits = 1; digits <= 9; digits++) {
    const text = value.toPrecision(digits);
    if (Math.fround(Number(text)) === value) return String(Number(text));
  }
  return String(value);
}

/** Serialises outputs as JSON, tensors as nested arrays of shortest float32 decimals. */
export function outputsToJson(outputs: ModelOutput): string {
  const parts: string[] = [];
  const tensorJson = (t: FloatTensor): string => {
    const values = Array.from(t.data, shortestFloat32);
    if (t.dims.length === 0) return values[0]!;
    const build = (depth: number, offset: number): string => {
      const d = t.dims[depth]!;
      if (depth === t.dims.length - 1) return `[${values.slice(offset, offset + d).join(',')}]`;
      const stride = t.dims.slice(depth + 1).reduce((a, b) => a * b, 1);
      return `[${Array.from({ length: d }, (_, i) => build(depth + 1, offset + i * stride)).join(',')}]`;
    };
    return build(0, 0);
  };
  for (const [key, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    let text: string;
    if (typeof value === 'number') text = Number.isFinite(value) ? String(value) : 'null';
    else if (Array.isArray(value)) text = `[${value.map(tensorJson).join(',')}]`;
    else text = tensorJson(value as FloatTensor);
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

export async function runForward(options: ForwardCliOptions, io: ForwardIO = {}): Promise<ModelOutput> {
  const stdout = io.stdout ?? process.stdout;
  const inputs = await readForwardInput(options.input, io.stdin);
  const config = AutoConfig.fromPretrained(options.model);
  const task = options.task ?? taskFromConfig(config.toJSON(), config.file);
  const model = await PreTrainedModel.fromPretrained(options.model, task, {
    outputHiddenStates: options.outputHiddenStates ?? false,
    outputAttentions: options.outputAttentions ?? false,
    threads: options.threads,
    graphOptimizationLevel: options.graphOptimizationLevel,
    cacheDir: options.cache === false ? false : undefined,
    ...dtypeFlags(options),
  });
  try {
    const outputs = await model.forward(inputs as never);
    await new Promise<void>((resolve, reject) =>
      stdout.write(`${outputsToJson(outputs)}\n`, (error) => (error ? reject(error) : resolve())),
    );
    return outputs;
  } finally {
    await model.dispose();
  }
}
