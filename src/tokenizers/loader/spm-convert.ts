/**
 * A SentencePiece `.model` → the tokenizer.json that transformers' `convert_slow_tokenizer` (4.40) builds for the
 * folder's tokenizer class, which then loads like any tokenizer.json (so the components are the engine's own).
 * This module holds SpmConverter's shared parts (model, default normalizer, Metaspace); the classes are in
 * spm-classes.ts.
 */
import { ConfigError } from '../../errors.js';
import type { JsonObject } from '../registry.js';
import { tokenContent } from './config-values.js';
import { SPM_BPE, SPM_UNIGRAM, type SentencePieceModel } from './sentencepiece-model.js';
import { SPECIAL_TOKEN_KEYS, type ConfigContext, type SpecialTokenKey } from './types.js';

/** The Metaspace replacement character SentencePiece writes for a space. */
export const SPM_SPACE = '▁';

/** What one tokenizer class changes in SpmConverter (transformers' `*Converter` subclasses). */
export interface SpmClassConverter {
  /** `vocab(proto)`: the (piece, score) list of the fast model, in id order. */
  vocab(model: SentencePieceModel, config: ClassConfig): [string, number][];
  /** `unk_id(proto)`. */
  unkId(model: SentencePieceModel): number;
  /** `normalizer(proto)`: the list of a Sequence normalizer. */
  normalizers(charsmap: JsonObject | null, config: ClassConfig): JsonObject[];
  /** `pre_tokenizer(...)`, given the Metaspace one. */
  preTokenizer(metaspace: JsonObject, config: ClassConfig): JsonObject;
  /** `post_processor()`: single and pair templates and the special tokens they name. */
  template: { single: string; pair: string; specials: string[] } | null;
  /** The slow class's default special tokens, used when the config names none. */
  defaults: Partial<Record<SpecialTokenKey, string>>;
  /** Whether the slow class has `legacy` and `add_prefix_space` attributes (T5), which set the prepend scheme. */
  readsPrependFlags: boolean;
}

/** Reads the slow class's options from tokenizer_config.json, naming the file and key on a wrong type. */
export interface ClassConfig {
  boolean(key: string, fallback: boolean): boolean;
  integer(key: string, fallback: number): number;
}

export function classConfig(context: ConfigContext): ClassConfig {
  const { config, configFile: file } = context;
  const read = <T>(key: string, fallback: T, ok: (v: unknown) => boolean, expected: string): T => {
    const value = config[key];
    if (value === undefined || value === null) return fallback;
    if (!ok(value)) {
      throw new ConfigError(`${file}: ${key}: expected ${expected}, got ${JSON.stringify(value)}`, {
        file,
        field: key,
      });
    }
    return value as T;
  };
  return {
    boolean: (key, fallback) => read(key, fallback, (v) => typeof v === 'boolean', 'true or false'),
    integer: (key, fallback) =>
      read(key, fallback, (v) => Number.isInteger(v) && (v as number) >= 0, 'a non-negative integer'),
  };
}

/** The sp pieces with their scores, as SpmConverter's default `vocab(proto)`. */
export function spmVocab(model: SentencePieceModel): [string, number][] {
  return model.pieces.map((p) => [p.piece, p.score]);
}

/**
 * `SentencePieceExtractor.extract()`: every split of every piece into two pieces of the sp vocabulary is a merge,
 * ranked by the merged piece's id, then by the ids of its halves. Splits are between code points, as Python
 * slices strings.
 */
export function spmMerges(model: SentencePieceModel): [string, string][] {
  const ids = new Map<string, number>();
  model.pieces.forEach((p, id) => ids.set(p.piece, id));
  const merges: [string, string][] = [];
  // Iterating the pieces by id gives the order of the (stable) sort by merged-piece id directly.
  for (const [merged] of [...ids].sort((a, b) => a[1] - b[1])) {
    const local: [string, string, number, number][] = [];
    for (let i = 1; i < merged.length; i++) {
      // Only between code points: never inside a surrogate pair.
      if (merged.charCodeAt(i) >= 0xdc00 && merged.charCodeAt(i) <= 0xdfff) continue;
      const left = merged.slice(0, i);
      const right = merged.slice(i);
      const leftId = ids.get(left);
      const rightId = ids.get(right);
      if (leftId !== undefined && rightId !== undefined) local.push([left, right, leftId, rightId]);
    }
    local.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
    for (const [left, right] of local) merges.push([left, right]);
  }
  return merges;
}

/** `SpmConverter.tokenizer(proto)`: a Unigram, or a BPE with fused unknowns; byte fallback is not carried over. */
export function spmModelJson(
  model: SentencePieceModel,
  vocab: [string, number][],
  unkId: number,
  file: string,
): JsonObject {
  if (model.modelType === SPM_UNIGRAM) return { type: 'Unigram', unk_id: unkId, vocab, byte_fallback: false };
  if (model.modelType === SPM_BPE) {
    // Python builds a dict: a repeated piece keeps its last id.
    const ids: Record<string, number> = {};
    vocab.forEach(([piece], id) => (ids[piece] = id));
    return {
      type: 'BPE',
      dropout: null,
      unk_token: model.unkPiece,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      vocab: ids,
      merges: spmMerges(model),
    };
  }
  throw new ConfigError(
    `${file}: trainer_spec.model_type: ${model.modelType} (${model.modelType === 3 ? 'word' : 'char'}) models cannot be converted; expected 1 (Unigram) or 2 (BPE)`,
    { file, field: 'trainer_spec.model_type' },
  );
}

export function precompiledJson(model: SentencePieceModel): JsonObject | null {
  return model.precompiledCharsmap
    ? { type: 'Precompiled', precompiled_charsmap: Buffer.from(model.precompiledCharsmap).toString('base64') }
    : null;
}

/** A Replace normalizer of a regex (`{Regex: …}`) or a literal string. */
export function replaceJson(pattern: string | { regex: string }, content: string): JsonObject {
  return {
    type: 'Replace',
    pattern: typeof pattern === 'string' ? { String: pattern } : { Regex: pattern.regex },
    content,
  };
}

/** SpmConverter's default normalizer: the charsmap, strip on the right, runs of spaces → one `▁`. */
export function defaultSpmNormalizers(charsmap: JsonObject | null): JsonObject[] {
  return [
    ...(charsmap ? [charsmap] : []),
    { type: 'Strip', strip_left: false, strip_right: true },
    replaceJson({ regex: ' {2,}' }, SPM_SPACE),
  ];
}

/** transformers' `_get_prepend_scheme`. */
export function prependScheme(addPrefixSpace: boolean, legacy: boolean): 'always' | 'first' | 'never' {
  if (!addPrefixSpace) return 'never';
  return legacy ? 'always' : 'first';
}

/** One piece of a template string (`$A:0`, `[SEP]:1`, `</s>`) in tokenizer.json's form; type ids default to 0. */
function templatePiece(piece: string): JsonObject {
  const [name, typeId] = piece.split(':') as [string, string | undefined];
  const type_id = typeId === undefined ? 0 : Number(typeId);
  return name === '$A' || name === '$B'
    ? { Sequence: { id: name.slice(1), type_id } }
    : { SpecialToken: { id: name, type_id } };
}

/** A TemplateProcessing as tokenizer.json stores it, each special token with its id (`convert_tokens_to_ids`). */
export function templateJson(
  template: NonNullable<SpmClassConverter['template']>,
  tokenId: (token: string) => number,
): JsonObject {
  const specials: JsonObject = {};
  for (const token of template.specials)
    specials[token] = { id: token, ids: [tokenId(token)], tokens: [token] };
  return {
    type: 'TemplateProcessing',
    single: template.single.split(' ').map(templatePiece),
    pair: template.pair.split(' ').map(templatePiece),
    special_tokens: specials,
  };
}

/**
 * The slow tokenizer's `convert_tokens_to_ids` at conversion time, as a lookup: its added tokens (tokenizer_config.json's
 * `added_tokens_decoder`, then the special tokens it appends when neither that nor the sp vocabulary has them, in
 * transformers' order bos, eos, unk, sep, pad, cls, mask, additional), then the sp vocabulary as the class maps it.
 */
export function slowTokenIds(context: ConfigContext, vocab: [string, number][]): (token: string) => number {
  const { config, configFile: file } = context;
  const added = new Map<string, number>();
  const decoder = config.added_tokens_decoder;
  if (decoder !== null && typeof decoder === 'object' && !Array.isArray(decoder)) {
    for (const [id, entry] of Object.entries(decoder as JsonObject)) {
      const content = tokenContent(entry, `added_tokens_decoder.${id}`, file);
      if (content !== null && Number.isInteger(Number(id))) added.set(content, Number(id));
    }
  }
  const pieces = new Map<string, number>();
  vocab.forEach(([piece], id) => {
    if (!pieces.has(piece)) pieces.set(piece, id);
  });
  const additional = Array.isArray(config.additional_special_tokens) ? config.additional_special_tokens : [];
  const specials = [
    ...SPECIAL_TOKEN_KEYS.map((key) => config[`${key}_token`]),
    ...(additional as unknown[]),
  ].map((value, i) => tokenContent(value, `special token ${i}`, file));
  let next = Math.max(vocab.length, ...[...added.values()].map((id) => id + 1));
  for (const token of specials) {
    if (token !== null && !added.has(token) && !pieces.has(token)) added.set(token, next++);
  }
  return (token) => {
    const id = added.get(token) ?? pieces.get(token);
    if (id === undefined) {
      throw new ConfigError(
        `${file}: the special token ${JSON.stringify(token)} of the post-processor is neither an added token nor in the SentencePiece vocabulary`,
        { file, field: 'added_tokens_decoder' },
      );
    }
    return id;
  };
}
