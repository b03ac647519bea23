/**
 * The Engine `seqbatch serve` runs: one checkpoint folder (or Hub id) served through seqbatch's pipelines. What it
 * serves follows the checkpoint: `rerank` for a cross-encoder (a sequence-classification checkpoint with one label,
 * or one sentence-transformers' CrossEncoder saved), `classify` and `embed` for another sequence-classification
 * checkpoint, `embed` for any other encoder, `tokenize` always. The wrapping of pipelines into an Engine is
 * `createPipelineEngine` (pipeline-engine.ts); this module decides the tasks and loads them.
 */
import { InputError } from '../errors.js';
import { resolveModel, type ResolveModelOptions } from '../hub/index.js';
import { AutoConfig } from '../models/config.js';
import { isCrossEncoder } from '../pipelines/text-ranking.js';
import type { Engine } from './engine.js';
import { loadPipelineEngine, type PipelineEngineOptions } from './pipeline-engine.js';

export type ServedTask = 'classify' | 'embed' | 'rerank';

export const SERVED_TASKS: readonly ServedTask[] = ['classify', 'embed', 'rerank'];

export interface ServeEngineOptions extends Omit<PipelineEngineOptions, 'hub'> {
  /** Tasks to serve (default: every task the checkpoint supports). */
  tasks?: readonly ServedTask[];
  /** How a Hub id is resolved (revision, offline, ...). */
  hub?: ResolveModelOptions;
  /** Reported as `model` by the server (default: the id or folder given). */
  modelId?: string;
}

/** The tasks a checkpoint folder supports, from config.json's `architectures`. */
export function checkpointTasks(dir: string): ServedTask[] {
  const config = AutoConfig.fromPretrained(dir);
  const classifies = config.architectures.some((name) => name.endsWith('ForSequenceClassification'));
  if (!classifies) return ['embed'];
  return isCrossEncoder(config) ? ['rerank'] : ['classify', 'embed'];
}

/** Resolves the model, checks the asked tasks against the checkpoint, and loads the pipeline Engine. */
export async function loadServeEngine(
  modelDirOrId: string,
  options: ServeEngineOptions = {},
): Promise<Engine> {
  const { tasks: asked, hub, modelId, ...load } = options;
  const dir = await resolveModel(modelDirOrId, hub);
  const supported = checkpointTasks(dir);
  const tasks = asked ?? supported;
  for (const task of tasks) {
    if (!supported.includes(task)) {
      const needs: Record<ServedTask, string> = {
        classify: 'a ForSequenceClassification head that is not a cross-encoder',
        embed: 'an encoder that is not a cross-encoder',
        rerank: 'a cross-encoder (a ForSequenceClassification head with one label, or saved by CrossEncoder)',
      };
      throw new InputError(`--tasks: ${modelDirOrId} cannot ${task}: that needs ${needs[task]}`, {
        argument: '--tasks',
      });
    }
  }
  const engine = await loadPipelineEngine(dir, tasks, load);
  // The server reports the name the user gave, not the resolved cache folder.
  const info = { ...engine.info, modelId: modelId ?? modelDirOrId };
  return Object.create(engine, { info: { value: info, enumerable: true } }) as Engine;
}
