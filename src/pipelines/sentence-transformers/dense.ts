/**
 * sentence-transformers' Dense module (`2_Dense/`): `activation(W·x + b)` on the sentence vector, with its own
 * `config.json` (in_features, out_features, bias, activation_function) and weights (`linear.weight` [out, in],
 * `linear.bias` [out]) in the module folder's `model.safetensors`.
 */
import { join } from 'node:path';
import { ConfigError, InputError } from '../../errors.js';
import { loadWeights } from '../../weights/index.js';
import { activationFunction, type ActivationFunction } from './activations.js';
import { optionalBoolean, optionalPositiveInteger, optionalString, readJsonObject } from './json-file.js';

export interface DenseConfig {
  /** The module folder. */
  dir: string;
  inFeatures: number;
  outFeatures: number;
  bias: boolean;
  /** The torch path of the activation (default Tanh, as the Python class). */
  activation: string;
}

export function readDenseConfig(dir: string): DenseConfig {
  const file = join(dir, 'config.json');
  const json = readJsonObject(file);
  const inFeatures = optionalPositiveInteger(json, 'in_features', file);
  const outFeatures = optionalPositiveInteger(json, 'out_features', file);
  if (inFeatures === undefined || outFeatures === undefined) {
    throw new ConfigError(`${file}: a Dense module needs in_features and out_features`, {
      file,
      field: inFeatures === undefined ? 'in_features' : 'out_features',
    });
  }
  const activation = optionalString(json, 'activation_function', file) ?? 'torch.nn.modules.activation.Tanh';
  // Checked now, so a bad name fails at load, naming the file.
  activationFunction(activation, { file, field: 'activation_function' });
  return { dir, inFeatures, outFeatures, bias: optionalBoolean(json, 'bias', file) ?? true, activation };
}

export class DenseLayer {
  private constructor(
    readonly config: DenseConfig,
    private readonly weight: Float32Array,
    private readonly biasValues: Float32Array | null,
    private readonly activate: ActivationFunction,
  ) {}

  static async load(config: DenseConfig): Promise<DenseLayer> {
    const weights = await loadWeights(config.dir);
    const { inFeatures, outFeatures } = config;
    const weight = weights.getFloat32('linear.weight', [outFeatures, inFeatures]).data;
    const bias = config.bias ? weights.getFloat32('linear.bias', [outFeatures]).data : null;
    const activate = activationFunction(config.activation, {
      file: join(config.dir, 'config.json'),
      field: 'activation_function',
    });
    return new DenseLayer(config, weight, bias, activate);
  }

  apply(vector: readonly number[]): number[] {
    const { inFeatures, outFeatures } = this.config;
    if (vector.length !== inFeatures) {
      throw new InputError(
        `${this.config.dir}: the Dense module takes ${inFeatures} features, the previous module gave ${vector.length}`,
        { argument: 'model' },
      );
    }
    const out = new Array<number>(outFeatures);
    for (let o = 0; o < outFeatures; o++) {
      let sum = this.biasValues === null ? 0 : this.biasValues[o]!;
      const row = o * inFeatures;
      for (let i = 0; i < inFeatures; i++) sum += this.weight[row + i]! * vector[i]!;
      out[o] = sum;
    }
    return this.activate(out);
  }
}
