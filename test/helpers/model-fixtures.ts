/**
 * The model fixture folders of ../shared/fixtures: `models/` (the first seven architectures) and `models-2/` (the
 * second wave). Every folder of both is listed; a folder whose `model_type` is not registered, or whose head
 * (`config.architectures[0]`) seqbatch does not build, would carry a skip message naming it (none does: the
 * fixture tests assert that every folder runs). So an architecture turns its fixtures on just by registering.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { taskFromConfig, type ModelTask } from '../../src/models/index.js';
import { findArchitecture } from '../../src/models/registry.js';
import { sharedPath } from './shared.js';

export const MODEL_FIXTURE_SETS = ['models', 'models-2'] as const;

export interface ModelFixture {
  /** `models/bert-seqcls`, `models-2/xlm-roberta-seqcls`: the folder under fixtures/. */
  label: string;
  /** The folder name alone (`bert-seqcls`). */
  name: string;
  dir: string;
  config: Record<string, unknown>;
  /** The head from config.architectures (undefined when skipped for an unsupported head). */
  task: ModelTask | undefined;
  /** Why this folder does not run yet (unregistered model_type or head), or false. */
  skip: false | string;
}

/** Every folder of both fixture sets, sorted by label; empty when ../shared is absent. */
export function modelFixtures(): ModelFixture[] {
  const fixtures: ModelFixture[] = [];
  for (const set of MODEL_FIXTURE_SETS) {
    const root = sharedPath('fixtures', set);
    if (!existsSync(root)) continue;
    for (const name of readdirSync(root).sort()) {
      const dir = join(root, name);
      if (!existsSync(join(dir, 'config.json'))) continue;
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      fixtures.push({ label: `${set}/${name}`, name, dir, config, ...supportOf(config) });
    }
  }
  return fixtures;
}

/** The fixtures that run today. */
export function supportedModelFixtures(): ModelFixture[] {
  return modelFixtures().filter((f) => !f.skip);
}

function supportOf(config: Record<string, unknown>): Pick<ModelFixture, 'task' | 'skip'> {
  const modelType = String(config.model_type);
  if (!findArchitecture(modelType)) {
    return {
      task: undefined,
      skip: `model_type "${modelType}" is not registered yet (src/models/registry.ts)`,
    };
  }
  try {
    return { task: taskFromConfig(config), skip: false };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const head = Array.isArray(config.architectures) ? String(config.architectures[0]) : 'its head';
    return { task: undefined, skip: `head ${head} is not supported yet` };
  }
}
