/**
 * The modules after Pooling (Dense, Normalize), loaded and run in modules.json order on each sentence vector.
 */
import { l2Normalize } from '../math.js';
import { DenseLayer } from './dense.js';
import type { SentenceTransformersConfig } from './folder-config.js';

type LoadedModule = { type: 'dense'; layer: DenseLayer } | { type: 'normalize' };

export class SentenceModuleStack {
  private constructor(private readonly modules: readonly LoadedModule[]) {}

  /** Loads the Dense weights of `config`'s modules (each from its own folder). */
  static async load(config: SentenceTransformersConfig | null): Promise<SentenceModuleStack> {
    const modules: LoadedModule[] = [];
    for (const module of config?.modules ?? []) {
      modules.push(
        module.type === 'dense' ? { type: 'dense', layer: await DenseLayer.load(module.config) } : module,
      );
    }
    return new SentenceModuleStack(modules);
  }

  /** Runs the modules on a pooled vector; `normalize: false` skips the Normalize modules. */
  apply(vector: number[], normalize: boolean): number[] {
    let out = vector;
    for (const module of this.modules) {
      if (module.type === 'dense') out = module.layer.apply(out);
      else if (normalize) out = l2Normalize(out);
    }
    return out;
  }

  /** The width of the stack's output for a pooled vector of `pooledWidth` (the last Dense's out_features). */
  outputDimension(pooledWidth: number): number {
    let width = pooledWidth;
    for (const module of this.modules) if (module.type === 'dense') width = module.layer.config.outFeatures;
    return width;
  }
}
