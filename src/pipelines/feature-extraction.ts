/**
 * feature-extraction: token embeddings (transformers' FeatureExtractionPipeline) or pooled sentence vectors.
 * A sentence-transformers folder (modules.json, 1_Pooling/config.json, optional Normalize module and
 * sentence_bert_config.json) sets the defaults, so such a checkpoint gives what `SentenceTransformer.encode` does.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, InputError } from '../errors.js';
import { Pipeline, type PipelineTask } from './base.js';
import { encodeInput, resolveLongInputs, type LongInputOptions } from './long-inputs.js';
import { combineVectors, l2Normalize } from './math.js';
import { sliceRowPositions, toRow } from './model-batch.js';
import { poolTokens, type PoolingMode } from './pooling.js';
import type { PipelineBatchOptions, TaskSteps } from './runner.js';
import type { TextOrEncoding } from './text-inputs.js';
import type { PreTrainedModel } from '../models/auto.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';

/** 'none': one vector per token (special tokens included), as Python's pipeline returns. */
export type Pooling = 'none' | 'cls' | 'mean' | 'max' | 'mean_sqrt_len';

export interface FeatureExtractionOptions extends LongInputOptions {
  /** Default: the sentence-transformers pooling of the folder, else 'none'. */
  pooling?: Pooling;
  /** L2-normalise the pooled vector. Default: whether the folder has a sentence-transformers Normalize module. */
  normalize?: boolean;
}

/** What a sentence-transformers folder says about pooling, normalisation and length. */
export interface SentenceTransformersConfig {
  modes: PoolingMode[];
  normalize: boolean;
  /** sentence_bert_config.json max_seq_length (inputs are truncated to it), or null. */
  maxSeqLength: number | null;
}

const POOLING_FLAGS: Array<[string, PoolingMode | null]> = [
  ['pooling_mode_cls_token', 'cls'],
  ['pooling_mode_max_tokens', 'max'],
  ['pooling_mode_mean_tokens', 'mean'],
  ['pooling_mode_mean_sqrt_len_tokens', 'mean_sqrt_len'],
  ['pooling_mode_weightedmean_tokens', null],
  ['pooling_mode_lasttoken', null],
];

function readJson(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${file}: cannot read JSON (${(error as Error).message})`, { file, cause: error });
  }
  if (value === null || typeof value !== 'object') throw new ConfigError(`${file}: expected JSON`, { file });
  return value as Record<string, unknown>;
}

/** Reads modules.json and its Pooling / Normalize modules; null when the folder is not a sentence-transformers one. */
export function readSentenceTransformersConfig(dir: string): SentenceTransformersConfig | null {
  const modulesFile = join(dir, 'modules.json');
  if (!existsSync(modulesFile)) return null;
  const modules = readJson(modulesFile) as unknown;
  if (!Array.isArray(modules)) {
    throw new ConfigError(`${modulesFile}: expected a list of modules`, { file: modulesFile });
  }
  let modes: PoolingMode[] | null = null;
  let normalize = false;
  modules.forEach((module: unknown, i) => {
    const { type, path } = (module ?? {}) as { type?: unknown; path?: unknown };
    const field = `[${i}].type`;
    if (typeof type !== 'string') {
      throw new ConfigError(`${modulesFile}: module ${i} has no type`, { file: modulesFile, field });
    }
    const kind = type.split('.').pop();
    if (kind === 'Transformer') return;
    if (kind === 'Normalize') {
      normalize = true;
      return;
    }
    if (kind === 'Pooling') {
      const file = join(dir, typeof path === 'string' ? path : '1_Pooling', 'config.json');
      const config = readJson(file);
      modes = [];
      for (const [flag, mode] of POOLING_FLAGS) {
        if (config[flag] !== true) continue;
        if (mode === null) {
          throw new ConfigError(`${file}: ${flag} is not supported by seqbatch`, { file, field: flag });
        }
        modes.push(mode);
      }
      if (modes.length === 0) {
        throw new ConfigError(`${file}: no pooling mode is enabled`, {
          file,
          field: 'pooling_mode_mean_tokens',
        });
      }
      return;
    }
    throw new ConfigError(`${modulesFile}: module ${i} (${type}) is not supported by seqbatch`, {
      file: modulesFile,
      field,
    });
  });
  let maxSeqLength: number | null = null;
  const bertConfig = join(dir, 'sentence_bert_config.json');
  if (existsSync(bertConfig)) {
    const value = readJson(bertConfig).max_seq_length;
    if (value !== undefined && value !== null) {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
        throw new ConfigError(`${bertConfig}: max_seq_length must be a positive integer`, {
          file: bertConfig,
          field: 'max_seq_length',
        });
      }
      maxSeqLength = value;
    }
  }
  return { modes: modes ?? ['mean'], normalize, maxSeqLength };
}

/** One vector per input (pooled), or one per token (`pooling: 'none'`). */
export type Features = number[] | number[][];

export class FeatureExtractionPipeline extends Pipeline<TextOrEncoding, Features, FeatureExtractionOptions> {
  constructor(
    task: PipelineTask,
    tokenizer: Tokenizer,
    model: PreTrainedModel,
    defaults: FeatureExtractionOptions & PipelineBatchOptions,
    /** The folder's sentence-transformers configuration, if any. */
    readonly sentenceTransformers: SentenceTransformersConfig | null = null,
  ) {
    super(task, tokenizer, model, defaults);
  }

  protected steps(options: FeatureExtractionOptions): TaskSteps<TextOrEncoding, unknown, unknown, Features> {
    const st = this.sentenceTransformers;
    const pooling = options.pooling;
    if (pooling !== undefined && !['none', 'cls', 'mean', 'max', 'mean_sqrt_len'].includes(pooling)) {
      throw new InputError(
        `pooling: expected 'none', 'cls', 'mean', 'max' or 'mean_sqrt_len', got ${JSON.stringify(pooling)}`,
        { argument: 'pooling' },
      );
    }
    const modes: PoolingMode[] | null =
      pooling === undefined ? (st?.modes ?? null) : pooling === 'none' ? null : [pooling];
    const normalize = options.normalize ?? st?.normalize ?? false;
    if (typeof normalize !== 'boolean') {
      throw new InputError(`normalize: expected true or false`, { argument: 'normalize' });
    }
    // sentence-transformers truncates to max_seq_length unless told otherwise.
    const stDefaults =
      st?.maxSeqLength != null && options.truncation === undefined && options.longInputs === undefined
        ? { truncation: true, maxLength: options.maxLength ?? Math.min(st.maxSeqLength, this.modelMaxLength) }
        : {};
    const limits = resolveLongInputs(
      { ...options, ...stDefaults },
      this.modelMaxLength,
      this.tokenizer.numSpecialTokensToAdd(false),
    );
    if (limits.mode === 'sliding-window' && modes === null) {
      throw new InputError(
        "longInputs: 'sliding-window' combines pooled vectors; choose a pooling other than 'none'",
        { argument: 'longInputs' },
      );
    }
    const { tokenizer } = this;
    const width = this.model.config.hiddenSize;
    const steps: TaskSteps<TextOrEncoding, null, Features, Features> = {
      prepare: (input, index) => {
        return { rows: encodeInput(tokenizer, input, limits, index).map(toRow), state: null };
      },
      extract: (output, b, row, paddedLength) => {
        const hidden = output.last_hidden_state;
        if (!hidden) throw new InputError('the model returned no last_hidden_state', { argument: 'model' });
        const tokens = sliceRowPositions(hidden.data, b, paddedLength, row.ids.length, width);
        if (modes === null) {
          return Array.from({ length: row.ids.length }, (_, t) =>
            Array.from(tokens.subarray(t * width, (t + 1) * width)),
          );
        }
        return poolTokens(tokens, row.ids.length, width, modes);
      },
      finish: (_state, windows) => {
        if (modes === null) return windows[0];
        const vector =
          windows.length === 1
            ? (windows[0] as number[])
            : combineVectors(windows as number[][], limits.aggregation);
        return normalize ? l2Normalize(vector) : vector;
      },
    };
    return steps as TaskSteps<TextOrEncoding, unknown, unknown, Features>;
  }
}
