/**
 * What a sentence-transformers folder says, read as `SentenceTransformer(dir)` reads it: `modules.json` in
 * order (Transformer, then Pooling, then any Dense and Normalize modules), `sentence_bert_config.json` of the
 * Transformer module and `config_sentence_transformers.json` (prompts, default prompt, similarity function).
 * A module type seqbatch cannot run is a ConfigError naming it, never a silently different vector.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { readDenseConfig, type DenseConfig } from './dense.js';
import {
  optionalBoolean,
  optionalPositiveInteger,
  optionalString,
  readJsonObject,
  readJsonValue,
} from './json-file.js';
import { readPoolingConfig, type PoolingConfig, type PoolingMode } from './pooling.js';
import { SIMILARITY_FUNCTIONS, type SimilarityFunctionName } from './similarity.js';

/** A module after Pooling, in modules.json order. */
export type SentenceModule = { type: 'dense'; config: DenseConfig } | { type: 'normalize' };

export interface SentenceTransformersConfig {
  /** The folder. */
  dir: string;
  pooling: PoolingConfig;
  /** The pooling modes (same as `pooling.modes`). */
  modes: PoolingMode[];
  /** The Dense and Normalize modules after Pooling, in order. */
  modules: SentenceModule[];
  /** Whether the stack has a Normalize module. */
  normalize: boolean;
  /** sentence_bert_config.json max_seq_length (inputs are truncated to it), or null. */
  maxSeqLength: number | null;
  /** sentence_bert_config.json do_lower_case: texts are lower-cased before the tokenizer. */
  doLowerCase: boolean;
  /** config_sentence_transformers.json prompts (name → text). */
  prompts: Readonly<Record<string, string>>;
  defaultPromptName: string | null;
  /** config_sentence_transformers.json similarity_fn_name, or null (cosine) when absent. */
  similarityFnName: SimilarityFunctionName | null;
}

const MODULE_PREFIX = 'sentence_transformers.models.';
const SUPPORTED_MODULES = ['Transformer', 'Pooling', 'Dense', 'Normalize'];

/** The class name of a module type path (`sentence_transformers.models.Pooling` → `Pooling`), or null. */
function moduleClass(type: string): string | null {
  if (!type.startsWith(MODULE_PREFIX)) return null;
  // Both `...models.Pooling` and the module path `...models.Pooling.Pooling` name the class.
  const parts = type.slice(MODULE_PREFIX.length).split('.');
  const name = parts[parts.length - 1]!;
  return SUPPORTED_MODULES.includes(name) && (parts.length === 1 || parts[0] === name) ? name : null;
}

interface TransformerSettings {
  maxSeqLength: number | null;
  doLowerCase: boolean;
}

function readTransformerSettings(moduleDir: string): TransformerSettings {
  const file = join(moduleDir, 'sentence_bert_config.json');
  const json = readJsonObject(file, true);
  return {
    maxSeqLength: optionalPositiveInteger(json, 'max_seq_length', file) ?? null,
    doLowerCase: optionalBoolean(json, 'do_lower_case', file) ?? false,
  };
}

function readPromptSettings(
  dir: string,
): Pick<SentenceTransformersConfig, 'prompts' | 'defaultPromptName' | 'similarityFnName'> {
  const file = join(dir, 'config_sentence_transformers.json');
  const json = readJsonObject(file, true);
  const prompts: Record<string, string> = {};
  if (json.prompts !== undefined && json.prompts !== null) {
    if (typeof json.prompts !== 'object' || Array.isArray(json.prompts)) {
      throw new ConfigError(`${file}: prompts must be an object of name → text`, { file, field: 'prompts' });
    }
    for (const [name, text] of Object.entries(json.prompts as Record<string, unknown>)) {
      if (typeof text !== 'string') {
        throw new ConfigError(`${file}: prompts.${name} must be a string`, {
          file,
          field: `prompts.${name}`,
        });
      }
      prompts[name] = text;
    }
  }
  const defaultPromptName = optionalString(json, 'default_prompt_name', file) ?? null;
  if (defaultPromptName !== null && !(defaultPromptName in prompts)) {
    throw new ConfigError(
      `${file}: default_prompt_name ${JSON.stringify(defaultPromptName)} is not one of the prompts ` +
        `(${Object.keys(prompts).join(', ') || 'none'})`,
      { file, field: 'default_prompt_name' },
    );
  }
  const similarity = optionalString(json, 'similarity_fn_name', file) ?? null;
  if (similarity !== null && !(SIMILARITY_FUNCTIONS as readonly string[]).includes(similarity)) {
    throw new ConfigError(
      `${file}: similarity_fn_name must be one of ${SIMILARITY_FUNCTIONS.join(', ')}, got ${JSON.stringify(similarity)}`,
      { file, field: 'similarity_fn_name' },
    );
  }
  return { prompts, defaultPromptName, similarityFnName: similarity as SimilarityFunctionName | null };
}

/** Reads a sentence-transformers folder; null when it has no modules.json (not a sentence-transformers folder). */
export function readSentenceTransformersConfig(dir: string): SentenceTransformersConfig | null {
  const modulesFile = join(dir, 'modules.json');
  if (!existsSync(modulesFile)) return null;
  const list = readJsonValue(modulesFile);
  if (!Array.isArray(list)) {
    throw new ConfigError(`${modulesFile}: expected a list of modules`, { file: modulesFile });
  }
  let transformer: TransformerSettings | null = null;
  let pooling: PoolingConfig | null = null;
  const modules: SentenceModule[] = [];
  list.forEach((entry: unknown, i) => {
    const { type, path } = (entry ?? {}) as { type?: unknown; path?: unknown };
    const field = `[${i}].type`;
    if (typeof type !== 'string') {
      throw new ConfigError(`${modulesFile}: module ${i} has no type`, { file: modulesFile, field });
    }
    const kind = moduleClass(type);
    const where = (what: string) =>
      new ConfigError(`${modulesFile}: module ${i} (${type}) ${what}`, { file: modulesFile, field });
    if (kind === null) {
      throw where(
        `is not supported by seqbatch (supported: ${SUPPORTED_MODULES.map((m) => MODULE_PREFIX + m).join(', ')})`,
      );
    }
    const moduleDir = join(dir, typeof path === 'string' ? path : '');
    if (kind === 'Transformer') {
      if (i !== 0) throw where('must be the first module');
      transformer = readTransformerSettings(moduleDir);
    } else if (kind === 'Pooling') {
      if (pooling !== null) throw where('is a second Pooling module');
      pooling = readPoolingConfig(typeof path === 'string' ? moduleDir : join(dir, '1_Pooling'));
    } else if (pooling === null) {
      throw where('comes before the Pooling module; seqbatch runs Dense and Normalize on sentence vectors');
    } else if (kind === 'Dense') {
      modules.push({ type: 'dense', config: readDenseConfig(moduleDir) });
    } else {
      modules.push({ type: 'normalize' });
    }
  });
  if (pooling === null) {
    throw new ConfigError(`${modulesFile}: no sentence_transformers.models.Pooling module`, {
      file: modulesFile,
    });
  }
  const settings: TransformerSettings = transformer ?? readTransformerSettings(dir);
  const resolvedPooling: PoolingConfig = pooling;
  return {
    dir,
    pooling: resolvedPooling,
    modes: resolvedPooling.modes,
    modules,
    normalize: modules.some((m) => m.type === 'normalize'),
    maxSeqLength: settings.maxSeqLength,
    doLowerCase: settings.doLowerCase,
    ...readPromptSettings(dir),
  };
}
