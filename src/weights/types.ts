/**
 * What a model builder needs from a checkpoint's weights. The safetensors reader (src/weights/safetensors.ts)
 * produces a WeightStore; graph builders (src/models/*) only read from it.
 */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';

export interface TensorInfo {
  /** The dtype as stored in the file (F16 and BF16 are widened to float32 when read through `get`). */
  dtype: SafetensorsDtype;
  shape: number[];
}

export interface WeightStore {
  /** All tensor names, in file order. */
  names(): string[];
  has(name: string): boolean;
  info(name: string): TensorInfo | undefined;
  /**
   * The tensor as float32 (F16/BF16/F64 converted). Throws WeightsError naming the tensor (and the file) when it is
   * missing, or when `expectedShape` is given and differs.
   */
  getFloat32(name: string, expectedShape?: number[]): { shape: number[]; data: Float32Array };
  /** Files the weights came from (one, or several for sharded checkpoints). */
  readonly files: string[];
}
