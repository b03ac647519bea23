/**
 * Peak RSS of loading a model and nothing else (bench/int8.ts): `--checkpoint DIR --dtype fp32|int8 [--int8-weights S]`. The graph is
 * built from the weights (no graph cache), handed to ONNX Runtime, and one text is classified so the session is
 * fully initialised; the process's peak RSS is then the load's.
 */
import { PreTrainedModel } from '../../src/models/auto.js';
import type { Int8WeightScheme } from '../../src/models/layers/int8.js';
import { sendResult, workerArgs } from '../lib/worker.js';

const args = workerArgs({
  checkpoint: { type: 'string' },
  dtype: { type: 'string', default: 'fp32' },
  'int8-weights': { type: 'string' },
});
if (!args.checkpoint) throw new Error('--checkpoint DIR is required');
const model = await PreTrainedModel.fromPretrained(args.checkpoint, 'sequence-classification', {
  cacheDir: false,
  packed: false,
  ...(args.dtype === 'int8'
    ? { dtype: 'int8' as const, int8Weights: args['int8-weights'] as Int8WeightScheme | undefined }
    : {}),
});
await model.forward({ input_ids: [[101, 2023, 102]] });
sendResult({ dtype: args.dtype });
