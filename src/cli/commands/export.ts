/**
 * `seqbatch export --model DIR --out DIR2`: writes the checkpoint's ONNX graph in the folder layout transformers.js
 * (and Optimum) load: `DIR2/onnx/model.onnx` beside `config.json` and the tokenizer files. The graph takes
 * `input_ids`, `attention_mask` and, for models with token types, `token_type_ids` (what transformers.js feeds),
 * and its outputs carry the HF names (`logits`, `last_hidden_state`, …). With `--dtype int8` the int8 graph goes to
 * `DIR2/onnx/model_quantized.onnx`, the file transformers.js loads for `dtype: 'q8'`.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { InputError } from '../../errors.js';
import { AutoConfig } from '../../models/config.js';
import { buildModelGraph, MODEL_TASKS, taskFromConfig, type ModelTask } from '../../models/index.js';
import { Tokenizer } from '../../tokenizers/tokenizer.js';
import { loadWeights } from '../../weights/load.js';
import type { Int8WeightScheme } from '../../models/layers/int8.js';
import { addDtypeOptions, dtypeFlags, type DtypeCliOptions } from './shared-model.js';

/** Files copied beside the graph when the checkpoint has them (config and everything a tokenizer may need). */
export const EXPORTED_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  'spiece.model',
  'sentencepiece.bpe.model',
];

export interface ExportOptions {
  task?: ModelTask;
  /** Standard ONNX ops only (no com.microsoft fused kernels), for runtimes other than ONNX Runtime. */
  standardOps?: boolean;
  /** 'int8' writes the int8 graph as onnx/model_quantized.onnx (docs/models.md, "int8"). */
  dtype?: 'fp32' | 'int8';
  int8Exclude?: readonly string[];
  int8Weights?: Int8WeightScheme;
}

export interface ExportResult {
  modelPath: string;
  task: ModelTask;
  inputNames: string[];
  outputNames: string[];
  copied: string[];
  /** Keys added to the exported tokenizer_config.json (special tokens the source file left to class defaults). */
  completed: string[];
}

/** Builds the graph of `modelDir` and writes the export folder `outDir`. */
export async function exportModel(
  modelDir: string,
  outDir: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const config = AutoConfig.fromPretrained(modelDir);
  const task = options.task ?? taskFromConfig(config.toJSON(), config.file);
  const weights = await loadWeights(modelDir, { onDemand: options.dtype === 'int8' });
  const graph = buildModelGraph(config.toJSON(), weights, {
    task,
    inputs: { attentionMask: true, positionIds: false },
    contribOps: !(options.standardOps ?? false),
    ...(options.dtype === 'int8'
      ? { dtype: 'int8' as const, int8Exclude: options.int8Exclude, int8Weights: options.int8Weights }
      : {}),
  });
  try {
    await mkdir(join(outDir, 'onnx'), { recursive: true });
  } catch (error) {
    throw new InputError(`--out ${outDir}: cannot create the folder (${(error as Error).message})`, {
      argument: '--out',
      cause: error,
    });
  }
  const modelPath = join(outDir, 'onnx', options.dtype === 'int8' ? 'model_quantized.onnx' : 'model.onnx');
  await writeFile(modelPath, graph.bytes);
  const copied: string[] = [];
  for (const name of EXPORTED_FILES) {
    const from = join(modelDir, name);
    const to = join(outDir, name);
    if (!existsSync(from)) continue;
    if (resolve(from) !== resolve(to)) await copyFile(from, to);
    copied.push(name);
  }
  const completed = await completeTokenizerConfig(modelDir, outDir);
  return { modelPath, task, inputNames: graph.inputNames, outputNames: graph.outputNames, copied, completed };
}

const SPECIAL_TOKEN_KEYS: Array<[keyof Tokenizer['specialTokens'], string]> = [
  ['unk', 'unk_token'],
  ['sep', 'sep_token'],
  ['pad', 'pad_token'],
  ['cls', 'cls_token'],
  ['mask', 'mask_token'],
  ['bos', 'bos_token'],
  ['eos', 'eos_token'],
];

/**
 * transformers.js reads special tokens only from tokenizer_config.json, while Python transformers also falls back
 * on the tokenizer class defaults (DistilBertTokenizer's "[PAD]", …). Old checkpoints whose tokenizer_config.json
 * omits them would load in transformers.js without a pad token and fail to pad, so the export writes the tokens
 * seqbatch's tokenizer resolved into the exported tokenizer_config.json when they are missing there.
 */
async function completeTokenizerConfig(modelDir: string, outDir: string): Promise<string[]> {
  if (!existsSync(join(modelDir, 'tokenizer.json'))) return [];
  const tokenizer = await Tokenizer.fromPretrained(modelDir, { onWarning: () => {} });
  const file = join(outDir, 'tokenizer_config.json');
  const config = existsSync(file)
    ? (JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>)
    : {};
  const added: string[] = [];
  for (const [role, key] of SPECIAL_TOKEN_KEYS) {
    const token = tokenizer.specialTokens[role];
    if (typeof token === 'string' && (config[key] === undefined || config[key] === null)) {
      config[key] = token;
      added.push(key);
    }
  }
  if (config.model_max_length === undefined && Number.isFinite(tokenizer.modelMaxLength)) {
    config.model_max_length = tokenizer.modelMaxLength;
    added.push('model_max_length');
  }
  if (added.length > 0) await writeFile(file, `${JSON.stringify(config, null, 2)}\n`);
  return added;
}

export function register(program: Command): void {
  const command = program
    .command('export')
    .description(
      'write onnx/model.onnx (int8: onnx/model_quantized.onnx) + config + tokenizer files in the folder layout transformers.js loads',
    )
    .requiredOption('--model <dir>', 'checkpoint folder (config.json + model.safetensors)')
    .requiredOption('--out <dir>', 'export folder (created if missing)')
    .addOption(
      new Option('--task <task>', 'head to export (default: from config.architectures)').choices(MODEL_TASKS),
    )
    .option('--standard-ops', 'use standard ONNX ops only (no com.microsoft fused kernels)');
  addDtypeOptions(command).action(
    async (
      options: { model: string; out: string; task?: ModelTask; standardOps?: boolean } & DtypeCliOptions,
    ) => {
      const { dtype, int8Exclude, int8Weights, ...rest } = options;
      const result = await exportModel(options.model, options.out, {
        ...rest,
        ...dtypeFlags({ dtype, int8Exclude, int8Weights }),
      });
      process.stdout.write(
        `wrote ${result.modelPath} (${result.task}; inputs ${result.inputNames.join(', ')}; outputs ` +
          `${result.outputNames.join(', ')})\ncopied ${result.copied.join(', ') || 'no other files'}\n` +
          (result.completed.length > 0
            ? `added to tokenizer_config.json: ${result.completed.join(', ')}\n`
            : ''),
      );
    },
  );
}
