/**
 * Typed reading of a checkpoint's config.json with the defaults of the transformers config class, and the
 * activation names (HF's `ACT2FN`) a config may give.
 */
import { ConfigError } from '../../errors.js';

/** HF `ACT2FN` names we implement (transformers/activations.py). */
export const ACTIVATIONS = [
  'gelu',
  'gelu_python',
  'gelu_new',
  'gelu_pytorch_tanh',
  'gelu_fast',
  'quick_gelu',
  'relu',
  'silu',
  'swish',
  'tanh',
  'sigmoid',
  'linear',
] as const;
export type ActivationName = (typeof ACTIVATIONS)[number];

/** Validates a config activation name; `field` is the config key it came from (e.g. `hidden_act`). */
export function activationFromConfig(value: unknown, field: string, file = 'config.json'): ActivationName {
  if (typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value))
    return value as ActivationName;
  throw new ConfigError(
    `${file} ${field}: unsupported activation ${JSON.stringify(value)} (supported: ${ACTIVATIONS.join(', ')})`,
    { file, field },
  );
}

/**
 * Reads typed fields from a checkpoint's config.json with the defaults of the transformers config class, throwing
 * ConfigError naming the field when a value has the wrong type.
 */
export class ConfigReader {
  constructor(
    readonly json: Record<string, unknown>,
    readonly file = 'config.json',
  ) {}

  private fail(key: string, expected: string): never {
    const got = this.json[key];
    throw new ConfigError(`${this.file} ${key}: expected ${expected}, got ${JSON.stringify(got)}`, {
      file: this.file,
      field: key,
    });
  }

  /** A positive integer (sizes, counts). */
  size(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) this.fail(key, 'a positive integer');
    return v;
  }

  /** An integer that may be 0 or negative (token ids). */
  integer(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, 'an integer');
    return v;
  }

  number(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, 'a number');
    return v;
  }

  boolean(key: string, fallback?: boolean): boolean {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  string(key: string, fallback?: string): string {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'string') this.fail(key, 'a string');
    return v;
  }

  activation(key: string, fallback: ActivationName): ActivationName {
    return activationFromConfig(this.json[key] ?? fallback, key, this.file);
  }

  /** `num_labels` as transformers derives it: the size of `id2label` when present, else `num_labels`, else 2. */
  numLabels(): number {
    const id2label = this.json.id2label;
    if (id2label !== undefined && id2label !== null) {
      if (typeof id2label !== 'object' || Array.isArray(id2label)) this.fail('id2label', 'an object');
      const n = Object.keys(id2label).length;
      if (n === 0) this.fail('id2label', 'at least one label');
      return n;
    }
    return this.size('num_labels', 2);
  }

  /** Only absolute learned position embeddings are implemented (relative_key variants change the attention math). */
  requireAbsolutePositions(key = 'position_embedding_type'): void {
    const type = this.string(key, 'absolute');
    if (type !== 'absolute') {
      throw new ConfigError(
        `${this.file} ${key}: "${type}" position embeddings are not supported (only "absolute")`,
        {
          file: this.file,
          field: key,
        },
      );
    }
  }

  /** Attention splits the hidden size evenly over the heads (`headsKey` names the config field). */
  requireDivisibleHeads(hidden: number, heads: number, headsKey: string): void {
    if (hidden % heads !== 0) {
      throw new ConfigError(
        `${this.file} ${headsKey}: hidden size ${hidden} is not a multiple of ${heads} heads`,
        {
          file: this.file,
          field: headsKey,
        },
      );
    }
  }

  /** Encoder-decoder or causal use of an encoder checkpoint changes the attention; we only build encoders. */
  requireEncoderOnly(): void {
    for (const key of ['is_decoder', 'add_cross_attention']) {
      if (this.json[key] === true) {
        throw new ConfigError(`${this.file} ${key}: decoder use of an encoder model is not supported`, {
          file: this.file,
          field: key,
        });
      }
    }
  }
}
