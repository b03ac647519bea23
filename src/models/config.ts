/**
 * A checkpoint's config.json with typed access. Mirrors what transformers' PretrainedConfig does on load:
 * `id2label` keys become numbers, `num_labels` follows `id2label` (default 2 labels when absent), `label2id`
 * defaults to the inverse, and the per-architecture field names (DistilBERT's `dim`, `n_layers`, `n_heads`) are
 * reachable under the common names. Anything malformed is a ConfigError naming config.json and the field.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Architecture } from './architecture.js';
import { maxSequenceLength, tokenTypeVocabSize } from './index.js';
import { findArchitecture, REGISTERED_MODEL_TYPES } from './registry.js';

/** model_type values seqbatch builds graphs for (whatever registry.ts registers), sorted. */
export const SUPPORTED_MODEL_TYPES: readonly string[] = [...REGISTERED_MODEL_TYPES].sort();
export type SupportedModelType = string;

export const PROBLEM_TYPES = [
  'regression',
  'single_label_classification',
  'multi_label_classification',
] as const;
export type ProblemType = (typeof PROBLEM_TYPES)[number];

export class PretrainedConfig {
  /** config.json as parsed. */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The file it was read from (named in errors). */
  readonly file: string;
  readonly modelType: SupportedModelType;
  readonly id2label: Readonly<Record<number, string>>;
  readonly label2id: Readonly<Record<string, number>>;
  readonly numLabels: number;
  /** `problem_type` as written, or undefined (the loss then infers it from num_labels and the label dtype). */
  readonly problemType: ProblemType | undefined;
  readonly architectures: readonly string[];
  /** The registered architecture of `modelType` (what differs per model family). */
  readonly architecture: Architecture;

  constructor(raw: Record<string, unknown>, file = 'config.json') {
    this.raw = raw;
    this.file = file;
    this.modelType = readModelType(raw, file);
    this.architecture = findArchitecture(this.modelType)!;
    this.architectures = readArchitectures(raw, file);
    const labels = readLabels(raw, file);
    this.id2label = labels.id2label;
    this.label2id = labels.label2id;
    this.numLabels = labels.numLabels;
    this.problemType = readProblemType(raw, file);
  }

  /** A field by its common name (DistilBERT's `dim` answers to `hidden_size`), or undefined. */
  get(key: string): unknown {
    const mapped = this.architecture.attributeMap?.[key];
    if (mapped !== undefined && this.raw[mapped] !== undefined) return this.raw[mapped];
    return this.raw[key];
  }

  private fieldName(key: string): string {
    const mapped = this.architecture.attributeMap?.[key];
    return mapped !== undefined && this.raw[mapped] !== undefined ? mapped : key;
  }

  /** A required (or defaulted) finite number. */
  number(key: string, fallback?: number): number {
    const value = this.get(key);
    const name = this.fieldName(key);
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${this.file}: ${name} is missing (expected a number)`, {
        file: this.file,
        field: name,
      });
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new ConfigError(`${this.file}: ${name} must be a number, got ${JSON.stringify(value)}`, {
        file: this.file,
        field: name,
      });
    }
    return value;
  }

  /** A required (or defaulted) non-negative integer. */
  integer(key: string, fallback?: number): number {
    const value = this.number(key, fallback);
    if (!Number.isSafeInteger(value) || value < 0) {
      const name = this.fieldName(key);
      throw new ConfigError(`${this.file}: ${name} must be a non-negative integer, got ${value}`, {
        file: this.file,
        field: name,
      });
    }
    return value;
  }

  string(key: string, fallback?: string): string {
    const value = this.get(key);
    const name = this.fieldName(key);
    if (value === undefined || value === null) {
      if (fallback !== undefined) return fallback;
      throw new ConfigError(`${this.file}: ${name} is missing (expected a string)`, {
        file: this.file,
        field: name,
      });
    }
    if (typeof value !== 'string') {
      throw new ConfigError(`${this.file}: ${name} must be a string, got ${JSON.stringify(value)}`, {
        file: this.file,
        field: name,
      });
    }
    return value;
  }

  get vocabSize(): number {
    return this.integer('vocab_size');
  }
  get hiddenSize(): number {
    return this.integer('hidden_size');
  }
  get numHiddenLayers(): number {
    return this.integer('num_hidden_layers');
  }
  get numAttentionHeads(): number {
    return this.integer('num_attention_heads');
  }
  get maxPositionEmbeddings(): number {
    return this.integer('max_position_embeddings');
  }
  /** 0 for models without token types (DistilBERT, MPNet). */
  get typeVocabSize(): number {
    return tokenTypeVocabSize(this.raw as Record<string, unknown>);
  }
  get padTokenId(): number | undefined {
    const value = this.get('pad_token_id');
    return value === undefined || value === null ? undefined : this.integer('pad_token_id');
  }

  /**
   * The longest input the position table allows. RoBERTa-style models number positions from
   * `pad_token_id + 1`, so they lose `pad_token_id + 1` rows (512 → 510 for roberta-base).
   */
  get maxSequenceLength(): number {
    return maxSequenceLength(this.raw as Record<string, unknown>);
  }

  /** config.json as a plain object (what graph builders take). */
  toJSON(): Record<string, unknown> {
    return { ...this.raw };
  }
}

function readModelType(raw: Record<string, unknown>, file: string): SupportedModelType {
  const value = raw.model_type;
  if (typeof value !== 'string') {
    throw new ConfigError(
      `${file}: model_type is ${value === undefined ? 'missing' : `not a string (${JSON.stringify(value)})`}; ` +
        `expected one of ${SUPPORTED_MODEL_TYPES.join(', ')}`,
      { file, field: 'model_type' },
    );
  }
  if (!SUPPORTED_MODEL_TYPES.includes(value)) {
    throw new ConfigError(
      `${file}: model_type "${value}" is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      { file, field: 'model_type' },
    );
  }
  return value;
}

function readArchitectures(raw: Record<string, unknown>, file: string): string[] {
  const value = raw.architectures;
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new ConfigError(`${file}: architectures must be a list of class names`, {
      file,
      field: 'architectures',
    });
  }
  return [...value];
}

function readProblemType(raw: Record<string, unknown>, file: string): ProblemType | undefined {
  const value = raw.problem_type;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !(PROBLEM_TYPES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `${file}: problem_type ${JSON.stringify(value)} is not one of ${PROBLEM_TYPES.join(', ')}`,
      { file, field: 'problem_type' },
    );
  }
  return value as ProblemType;
}

function readLabels(
  raw: Record<string, unknown>,
  file: string,
): { id2label: Record<number, string>; label2id: Record<string, number>; numLabels: number } {
  const id2label: Record<number, string> = {};
  if (raw.id2label !== undefined && raw.id2label !== null) {
    if (typeof raw.id2label !== 'object' || Array.isArray(raw.id2label)) {
      throw new ConfigError(`${file}: id2label must be an object mapping ids to label names`, {
        file,
        field: 'id2label',
      });
    }
    for (const [key, label] of Object.entries(raw.id2label as Record<string, unknown>)) {
      const id = Number(key);
      if (!/^\d+$/.test(key) || !Number.isSafeInteger(id)) {
        throw new ConfigError(`${file}: id2label key "${key}" is not a non-negative integer`, {
          file,
          field: `id2label.${key}`,
        });
      }
      if (typeof label !== 'string') {
        throw new ConfigError(`${file}: id2label.${key} must be a string`, {
          file,
          field: `id2label.${key}`,
        });
      }
      id2label[id] = label;
    }
  } else {
    // transformers' default when id2label is absent: num_labels (default 2) labels named LABEL_i.
    const numLabels = raw.num_labels ?? 2;
    if (typeof numLabels !== 'number' || !Number.isSafeInteger(numLabels) || numLabels < 0) {
      throw new ConfigError(`${file}: num_labels must be a non-negative integer`, {
        file,
        field: 'num_labels',
      });
    }
    for (let i = 0; i < numLabels; i++) id2label[i] = `LABEL_${i}`;
  }

  let label2id: Record<string, number> = {};
  if (raw.label2id !== undefined && raw.label2id !== null) {
    if (typeof raw.label2id !== 'object' || Array.isArray(raw.label2id)) {
      throw new ConfigError(`${file}: label2id must be an object mapping label names to ids`, {
        file,
        field: 'label2id',
      });
    }
    for (const [label, id] of Object.entries(raw.label2id as Record<string, unknown>)) {
      // Some configs store the ids as strings ("0"); normalise them to numbers.
      const value = typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : id;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new ConfigError(`${file}: label2id.${label} must be a non-negative integer`, {
          file,
          field: `label2id.${label}`,
        });
      }
      label2id[label] = value;
    }
  } else {
    label2id = Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)]));
  }
  // As in transformers, id2label decides num_labels (the classifier weights will be checked against it).
  return { id2label, label2id, numLabels: Object.keys(id2label).length };
}

export const AutoConfig = {
  /** Reads `<dir>/config.json` (or a config.json path) into a PretrainedConfig. */
  fromPretrained(path: string): PretrainedConfig {
    const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'config.json') : path;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new ConfigError(`${file}: cannot read the model config (${(error as Error).message})`, {
        file,
        cause: error,
      });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`, { file, cause: error });
    }
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new ConfigError(`${file}: expected a JSON object`, { file });
    }
    return new PretrainedConfig(json as Record<string, unknown>, file);
  },
};
