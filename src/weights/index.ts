/** Checkpoint weights: the safetensors reader and the folder loader. */
export type { SafetensorsDtype, TensorInfo, WeightStore } from './types.js';
export { loadWeights, SAFETENSORS_FILE, SAFETENSORS_INDEX_FILE, type LoadWeightsOptions } from './load.js';
export {
  parseHeader,
  parseSafetensors,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsOnDemand,
  SafetensorsWeightStore,
  MAX_HEADER_BYTES,
} from './safetensors.js';
export type { SafetensorsFile, SafetensorsHeader, TensorEntry } from './safetensors.js';
export { halfToFloat, toFloat32, DTYPE_BYTES } from './dtype.js';
export { serializeSafetensors, writeSafetensorsFile } from './write.js';
export type { LazyTensorToWrite, TensorToWrite } from './write.js';
