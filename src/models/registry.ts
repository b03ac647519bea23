/**
 * The architectures seqbatch builds, one line each, and the lookup from a config's `model_type`. Architecture
 * files import only architecture.ts and layers/, never this module, so the registry has no import cycle.
 */
import { ConfigError } from '../errors.js';
import { albertArchitecture } from './albert.js';
import type { Architecture, SequenceClassificationLoss } from './architecture.js';
import { bertArchitecture } from './bert.js';
import { debertaV2Architecture } from './deberta-v2.js';
import { distilbertArchitecture } from './distilbert.js';
import { electraArchitecture } from './electra.js';
import { ConfigReader } from './layers/index.js';
import { longformerArchitecture } from './longformer.js';
import { modernbertArchitecture } from './modernbert.js';
import { mpnetArchitecture } from './mpnet.js';
import { robertaArchitecture } from './roberta.js';

export const ARCHITECTURES: readonly Architecture[] = [
  bertArchitecture,
  robertaArchitecture,
  distilbertArchitecture,
  albertArchitecture,
  electraArchitecture,
  longformerArchitecture,
  debertaV2Architecture,
  mpnetArchitecture,
  modernbertArchitecture,
];

/** config.json `model_type` values seqbatch builds graphs for, in registry order. */
export const REGISTERED_MODEL_TYPES: readonly string[] = ARCHITECTURES.flatMap((a) => a.modelTypes);

/** The architecture registered for `modelType`, or undefined. */
export function findArchitecture(modelType: string): Architecture | undefined {
  return ARCHITECTURES.find((a) => a.modelTypes.includes(modelType));
}

/** The architecture of a config; ConfigError naming `model_type` when none is registered for it. */
export function architectureFor(config: ConfigReader): Architecture {
  const modelType = config.string('model_type');
  const arch = findArchitecture(modelType);
  if (!arch) {
    throw new ConfigError(
      `${config.file} model_type: "${modelType}" is not supported (supported: ${REGISTERED_MODEL_TYPES.join(', ')})`,
      { file: config.file, field: 'model_type' },
    );
  }
  return arch;
}

/** The architecture's own rule for the sequence-classification loss without `problem_type`, if it has one. */
export function inferredSequenceClassificationLoss(
  config: Record<string, unknown>,
): SequenceClassificationLoss | null {
  return architectureFor(new ConfigReader(config)).inferredSequenceClassificationLoss ?? null;
}
