/**
 * Which files of a model repo seqbatch needs. Selection runs in two rounds because two files name others:
 * `model.safetensors.index.json` lists the weight shards and sentence-transformers' `modules.json` names the
 * pooling module's folder. The same rules apply to a Hub listing and to a cached snapshot read offline.
 */
import { HubError } from '../errors.js';
import { SENTENCEPIECE_FILES } from '../tokenizers/loader/files.js';

export const CONFIG_FILE = 'config.json';
export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';
export const MODULES_FILE = 'modules.json';

/** Tokenizer and sentence-transformers files, fetched when the repo has them. */
export const OPTIONAL_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'vocab.json',
  'merges.txt',
  MODULES_FILE,
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
];

/** Weight formats we never load: pickled PyTorch (unsafe to parse) and other frameworks' files. */
const UNSUPPORTED_WEIGHTS = [
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
  'tf_model.h5',
  'flax_model.msgpack',
  'model.onnx',
];

export interface SelectionOptions {
  /** Also select the weights (false for tokenizer-only use). */
  weights: boolean;
  /** How to phrase "where": e.g. `ab/cd at revision "main"`, or the cached snapshot folder. */
  where: string;
  /** Sentence appended to "missing" errors, e.g. why the network was not used. */
  missingHint?: string;
}

function missing(file: string, options: SelectionOptions, why: string): HubError {
  return new HubError(
    `${file} ${why} in ${options.where}.${options.missingHint ? ` ${options.missingHint}` : ''}`,
    {
      file,
    },
  );
}

/** The first round: files chosen from the listing alone. */
export function selectModelFiles(available: ReadonlySet<string>, options: SelectionOptions): string[] {
  const selected: string[] = [];
  if (available.has(CONFIG_FILE)) selected.push(CONFIG_FILE);
  else if (options.weights) throw missing(CONFIG_FILE, options, 'is required but missing');
  selected.push(...OPTIONAL_FILES.filter((file) => available.has(file)));
  // A SentencePiece model is what the tokenizer loads when there is no tokenizer.json (e.g. deberta-v3-base).
  const sentencePiece = SENTENCEPIECE_FILES.find((file) => available.has(file));
  if (!available.has('tokenizer.json') && sentencePiece !== undefined) selected.push(sentencePiece);
  if (!options.weights) return selected;

  if (available.has(SAFETENSORS_FILE)) {
    selected.push(SAFETENSORS_FILE);
  } else if (available.has(SAFETENSORS_INDEX_FILE)) {
    selected.push(SAFETENSORS_INDEX_FILE);
  } else {
    const other = UNSUPPORTED_WEIGHTS.filter((file) => available.has(file));
    if (other.length > 0) {
      throw new HubError(
        `${options.where} has no ${SAFETENSORS_FILE} (only ${other.join(', ')}). seqbatch loads safetensors ` +
          `only and never unpickles pytorch_model.bin; use a revision or fork with safetensors weights ` +
          `(e.g. the Hub's "refs/pr/N" safetensors conversion PR).`,
        { file: other[0] },
      );
    }
    throw missing(SAFETENSORS_FILE, options, `(or ${SAFETENSORS_INDEX_FILE} with shards) is missing`);
  }
  return selected;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HubError(`${file} is not valid JSON: ${(error as Error).message}`, { file, cause: error });
  }
}

/** Shard file names listed in `model.safetensors.index.json` (`weight_map` values), in first-seen order. */
export function shardFiles(indexText: string): string[] {
  const index = parseJson(indexText, SAFETENSORS_INDEX_FILE) as { weight_map?: unknown };
  const map = index.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new HubError(
      `${SAFETENSORS_INDEX_FILE}: "weight_map" must be an object of tensor name → shard file`,
      {
        file: SAFETENSORS_INDEX_FILE,
        field: 'weight_map',
      },
    );
  }
  const shards = new Set<string>();
  for (const [tensor, shard] of Object.entries(map)) {
    if (typeof shard !== 'string') {
      throw new HubError(`${SAFETENSORS_INDEX_FILE}: weight_map["${tensor}"] must be a file name`, {
        file: SAFETENSORS_INDEX_FILE,
        field: `weight_map.${tensor}`,
      });
    }
    shards.add(shard);
  }
  return [...shards];
}

/** `<path>/config.json` of every sentence-transformers Pooling module listed in `modules.json`. */
export function poolingConfigFiles(modulesText: string): string[] {
  const modules = parseJson(modulesText, MODULES_FILE);
  if (!Array.isArray(modules)) {
    throw new HubError(`${MODULES_FILE} must be a JSON array of modules`, { file: MODULES_FILE });
  }
  const files: string[] = [];
  for (const module of modules as { type?: unknown; path?: unknown }[]) {
    if (typeof module?.type !== 'string' || typeof module.path !== 'string') continue;
    if (module.path !== '' && /(^|\.)Pooling$/.test(module.type)) files.push(`${module.path}/config.json`);
  }
  return files;
}

/**
 * The second round: shards named by the index and pooling configs named by modules.json. `read` returns a
 * first-round file's text. Shards must exist; a pooling config is taken when present.
 */
export async function selectReferencedFiles(
  firstRound: readonly string[],
  available: ReadonlySet<string>,
  read: (file: string) => Promise<string>,
  options: SelectionOptions,
): Promise<string[]> {
  const selected: string[] = [];
  if (firstRound.includes(SAFETENSORS_INDEX_FILE)) {
    for (const shard of shardFiles(await read(SAFETENSORS_INDEX_FILE))) {
      if (!available.has(shard))
        throw missing(shard, options, `(a shard listed in ${SAFETENSORS_INDEX_FILE}) is missing`);
      selected.push(shard);
    }
  }
  if (firstRound.includes(MODULES_FILE)) {
    selected.push(...poolingConfigFiles(await read(MODULES_FILE)).filter((file) => available.has(file)));
  }
  return selected;
}
