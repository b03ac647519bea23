/**
 * The fixture checkpoints of ../shared/fixtures/models-2 (the second wave of architectures) that seqbatch can run
 * so far: a registered model type and an implemented head. The others are left out until their architecture lands.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskFromConfig } from '../../src/models/index.js';
import { REGISTERED_MODEL_TYPES as SUPPORTED_MODEL_TYPES } from '../../src/models/registry.js';
import { sharedPath } from './shared.js';

/** Folder names relative to fixtures/models/ (`../models-2/<name>`), so they join onto that folder's path. */
export function runnableModels2Folders(): string[] {
  const root = sharedPath('fixtures', 'models-2');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) =>
      runnable(JSON.parse(readFileSync(join(root, name, 'config.json'), 'utf8')) as Record<string, unknown>),
    )
    .map((name) => join('..', 'models-2', name))
    .sort();
}

function runnable(config: Record<string, unknown>): boolean {
  if (!SUPPORTED_MODEL_TYPES.includes(config.model_type as string)) return false;
  try {
    taskFromConfig(config);
    return true;
  } catch {
    return false; // a head not implemented yet
  }
}
