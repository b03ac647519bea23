/**
 * The Engine `seqbatch serve` runs: one checkpoint folder (or Hub id) served through seqbatch's pipelines. What it
 * serves follows the checkpoint: `classify` when config.json names a sequence-classification architecture,
 * `embed` for any encoder, `tokenize` always. The wrapping of pipelines into an Engine is
 * `createPipelineEngine` (pipeline-engine.ts); this module decides the tasks and loads them.
 */
import { InputError } from '../errors.js';
import { resolveModel, type ResolveModelOptions } from '../hub/index.js';
import { AutoConfig } from '../models/config.js';
import type { Engine } from './engine.js';
import { loadPipelineEngine, type PipelineEngineOptions } from './pipeline-engine.js';

export type ServedTask = 'classify' | 'embed';

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
  return classifies ? ['classify', 'embed'] : ['embed'];
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
      throw new InputError(
        `--tasks: ${modelDirOrId} cannot ${task}: config.json architectures name no ${task === 'classify' ? 'ForSequenceClassification head' : 'encoder'}`,
        { argument: '--tasks' },
      );
    }
  }
  const engine = await loadPipelineEngine(dir, tasks, load);
  // The server reports the name the user gave, not the resolved cache folder.
  const info = { ...engine.info, modelId: modelId ?? modelDirOrId };
  return Object.create(engine, { info: { value: info, enumerable: true } }) as Engine;
}
