/**
 * Finds and loads the weights of a Hugging Face checkpoint folder: `model.safetensors`, or a sharded checkpoint
 * described by `model.safetensors.index.json` (its `weight_map` sends each tensor name to a shard file).
 * Pickle checkpoints (`pytorch_model.bin`) are refused, never parsed: unpickling can run arbitrary code.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve, sep } from 'node:path';
import { WeightsError } from '../errors.js';
import {
  readSafetensors as readWholeSafetensors,
  readSafetensorsOnDemand,
  SafetensorsWeightStore,
  type SafetensorsFile,
} from './safetensors.js';

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

/** Files that mean "these weights exist but only in a format we will not load". */
const UNSAFE_WEIGHT_FILES = [
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
  'tf_model.h5',
  'flax_model.msgpack',
];

const HOW_TO_CONVERT =
  'Pickle checkpoints can run arbitrary code when loaded, so seqbatch only reads safetensors. Convert once with ' +
  'Python: `AutoModel.from_pretrained(dir).save_pretrained(dir, safe_serialization=True)` (transformers), or ' +
  "the Hub's safetensors convert tool (https://huggingface.co/spaces/safetensors/convert), or download the " +
  "checkpoint's `model.safetensors` if the Hub repo has one.";

export interface LoadWeightsOptions {
  /**
   * Read only the headers now and each tensor from its file when it is asked for, instead of the whole files
   * at once (the int8 build: it holds one fp32 tensor at a time). Default false.
   */
  onDemand?: boolean;
}

/**
 * Loads the weights of `path`: a checkpoint folder, or a single `.safetensors` file.
 * Throws WeightsError naming the folder/file when nothing loadable is there.
 */
export async function loadWeights(
  path: string,
  options: LoadWeightsOptions = {},
): Promise<SafetensorsWeightStore> {
  const readSafetensors = options.onDemand ? readSafetensorsOnDemand : readWholeSafetensors;
  if (existsSync(path) && statSync(path).isFile()) {
    return new SafetensorsWeightStore([await readSafetensors(path)]);
  }
  if (!existsSync(path)) {
    throw new WeightsError(`${path}: checkpoint folder does not exist`, { file: path });
  }
  const single = join(path, SAFETENSORS_FILE);
  if (existsSync(single)) return new SafetensorsWeightStore([await readSafetensors(single)]);

  const index = join(path, SAFETENSORS_INDEX_FILE);
  if (existsSync(index)) return loadSharded(path, index, readSafetensors);

  const unsafe = UNSAFE_WEIGHT_FILES.filter((f) => existsSync(join(path, f)));
  if (unsafe.length > 0) {
    throw new WeightsError(
      `${path}: has ${unsafe.join(', ')} but no ${SAFETENSORS_FILE}. ${HOW_TO_CONVERT}`,
      { file: join(path, unsafe[0]!) },
    );
  }
  throw new WeightsError(`${path}: no ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE} found`, {
    file: path,
  });
}

/** The shard file names an index refers to, validated (strings, plain file names inside the folder). */
export async function readShardIndex(dir: string, index: string): Promise<Map<string, string>> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(index, 'utf8'));
  } catch (error) {
    throw new WeightsError(`${index}: not valid JSON (${(error as Error).message})`, {
      file: index,
      cause: error,
    });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== 'object' || Array.isArray(weightMap)) {
    throw new WeightsError(`${index}: weight_map must be an object mapping tensor names to shard files`, {
      file: index,
      field: 'weight_map',
    });
  }
  const root = resolve(dir);
  const map = new Map<string, string>();
  for (const [tensor, shard] of Object.entries(weightMap as Record<string, unknown>)) {
    const field = `weight_map.${tensor}`;
    if (typeof shard !== 'string' || shard.length === 0) {
      throw new WeightsError(`${index}: ${field} must be a shard file name`, { file: index, field });
    }
    // A hostile index must not make us read files outside the checkpoint folder.
    const full = resolve(root, shard);
    if (!full.startsWith(root + sep) || basename(shard) !== shard) {
      throw new WeightsError(`${index}: ${field} names "${shard}", which is not a file in ${dir}`, {
        file: index,
        field,
      });
    }
    map.set(tensor, full);
  }
  if (map.size === 0)
    throw new WeightsError(`${index}: weight_map is empty`, { file: index, field: 'weight_map' });
  return map;
}

async function loadSharded(
  dir: string,
  index: string,
  readSafetensors: (file: string) => Promise<SafetensorsFile>,
): Promise<SafetensorsWeightStore> {
  const weightMap = await readShardIndex(dir, index);
  const shardFiles = [...new Set(weightMap.values())];
  const parsed = [];
  for (const shard of shardFiles) {
    if (!existsSync(shard)) {
      throw new WeightsError(
        `${index}: shard ${basename(shard)} is listed in weight_map but missing from ${dir}`,
        {
          file: shard,
        },
      );
    }
    parsed.push(await readSafetensors(shard));
  }
  const store = new SafetensorsWeightStore(parsed);
  // The index and the shards must agree, both ways, or a tensor could silently come from the wrong place.
  const storedIn = new Map<string, string>();
  for (const p of parsed) for (const t of p.tensors) storedIn.set(t.name, p.file);
  for (const [tensor, shard] of weightMap) {
    const found = storedIn.get(tensor);
    if (found === undefined) {
      throw new WeightsError(
        `${index}: tensor "${tensor}" is listed in weight_map but not stored in ${basename(shard)}`,
        {
          file: shard,
          field: tensor,
        },
      );
    }
    if (found !== shard) {
      throw new WeightsError(
        `${index}: weight_map puts tensor "${tensor}" in ${basename(shard)} but it is stored in ${basename(found)}`,
        { file: found, field: tensor },
      );
    }
  }
  for (const name of store.names()) {
    if (!weightMap.has(name)) {
      throw new WeightsError(`${index}: tensor "${name}" is stored in a shard but missing from weight_map`, {
        file: index,
        field: name,
      });
    }
  }
  return store;
}
