/**
 * Model inputs as callers give them (nested arrays, typed arrays with dims, tensors from the tokenizer) turned
 * into int64 [batch, seq] matrices and checked before ONNX Runtime sees them. ORT would either fail with an
 * opaque message (out-of-range Gather index) or, worse, silently read a wrong row; these checks name the argument.
 */
import { InputError } from '../errors.js';

/** A tensor given by dims and flat row-major data (ORT tensors and our own output tensors match this). */
export interface FlatTensorLike {
  data: ArrayLike<number | bigint> | BigInt64Array;
  dims: readonly number[];
}

/** What callers may pass for an integer input: `[[...], ...]`, one row `[...]`, or a flat tensor with dims. */
export type IntTensorInput =
  ReadonlyArray<ReadonlyArray<number | bigint>> | ReadonlyArray<number | bigint> | FlatTensorLike;

export interface IntMatrix {
  data: BigInt64Array;
  dims: [number, number];
}

/** Numbers of any shape, flattened (used for labels, whose shape depends on the task). */
export interface NumericTensor {
  data: Float64Array;
  dims: number[];
}

function isFlat(value: unknown): value is FlatTensorLike {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && 'data' in value && 'dims' in value
  );
}

/** Flattens nested arrays (any depth) or a flat tensor, checking the nesting is rectangular. */
export function toNumericTensor(value: unknown, argument: string): NumericTensor {
  if (isFlat(value)) {
    const dims = [...value.dims];
    const size = dims.reduce((a, b) => a * b, 1);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0) || value.data.length !== size) {
      throw new InputError(
        `${argument}: dims [${dims.join(', ')}] do not match ${value.data.length} values`,
        {
          argument,
        },
      );
    }
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = Number(value.data[i]);
    return { data, dims };
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    return { data: Float64Array.of(Number(value)), dims: [] };
  }
  if (!Array.isArray(value)) {
    throw new InputError(
      `${argument}: expected an array of numbers (or {data, dims}), got ${describe(value)}`,
      {
        argument,
      },
    );
  }
  const dims: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) {
    dims.push(level.length);
    if (level.length === 0) break;
  }
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float64Array(size);
  let cursor = 0;
  // Indices of the node being visited; turned into a path like `[1][3]` only for error messages.
  const at: number[] = [];
  const path = () => at.map((i) => `[${i}]`).join('');
  const walk = (node: unknown, depth: number): void => {
    if (depth === dims.length) {
      if (typeof node === 'bigint') data[cursor++] = Number(node);
      else if (typeof node === 'number') data[cursor++] = node;
      else
        throw new InputError(`${argument}${path()}: expected a number, got ${describe(node)}`, { argument });
      return;
    }
    if (!Array.isArray(node) || node.length !== dims[depth]) {
      throw new InputError(
        `${argument}${path()}: rows must all have the same length (expected ${dims[depth]} values, got ` +
          `${Array.isArray(node) ? node.length : describe(node)}); pad the batch first`,
        { argument },
      );
    }
    for (let i = 0; i < node.length; i++) {
      at.push(i);
      walk(node[i], depth + 1);
      at.pop();
    }
  };
  walk(value, 0);
  return { data, dims };
}

/** An integer [batch, seq] matrix; a single row `[...]` is read as a batch of one. */
export function toIntMatrix(value: IntTensorInput, argument: string): IntMatrix {
  // Fast paths for what tokenizers hand over: int64 tensors (used as they are) and [batch][seq] number rows
  // (copied once). Anything else goes through the general flattening.
  if (isFlat(value) && value.data instanceof BigInt64Array && value.dims.length === 2) {
    const [batch, seq] = value.dims as [number, number];
    if (Number.isSafeInteger(batch) && Number.isSafeInteger(seq) && batch * seq === value.data.length) {
      return { data: value.data, dims: [batch, seq] };
    }
  }
  if (Array.isArray(value) && value.length > 0 && Array.isArray(value[0])) {
    const rows = value as ReadonlyArray<ReadonlyArray<unknown>>;
    const seq = rows[0]!.length;
    const data = new BigInt64Array(rows.length * seq);
    let fast = true;
    for (let r = 0; r < rows.length && fast; r++) {
      const row = rows[r];
      if (!Array.isArray(row) || row.length !== seq) {
        fast = false;
        break;
      }
      for (let c = 0; c < seq; c++) {
        const v = row[c];
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
          fast = false;
          break;
        }
        data[r * seq + c] = BigInt(v);
      }
    }
    if (fast) return { data, dims: [rows.length, seq] };
  }
  const tensor = toNumericTensor(value, argument);
  let dims = tensor.dims;
  if (dims.length === 1) dims = [1, dims[0]!];
  if (dims.length !== 2) {
    throw new InputError(`${argument}: expected shape [batch, sequence], got [${tensor.dims.join(', ')}]`, {
      argument,
    });
  }
  const data = new BigInt64Array(tensor.data.length);
  for (let i = 0; i < data.length; i++) {
    const v = tensor.data[i]!;
    if (!Number.isSafeInteger(v)) {
      throw new InputError(`${argument}: value ${v} at flat index ${i} is not an integer`, { argument });
    }
    data[i] = BigInt(v);
  }
  return { data, dims: [dims[0]!, dims[1]!] };
}

export interface InputLimits {
  vocabSize: number;
  /** 0 when the model takes no token types (DistilBERT). */
  typeVocabSize: number;
  maxPositionEmbeddings: number;
  /** Longest input the position table allows (RoBERTa-style: max_position_embeddings − pad − 1), for messages. */
  maxSequenceLength: number;
}

export interface ModelInputMatrices {
  input_ids: IntMatrix;
  attention_mask?: IntMatrix;
  token_type_ids?: IntMatrix;
  position_ids?: IntMatrix;
}

/**
 * Checks ids, masks, type ids and positions against the model's tables; throws InputError naming the argument.
 * `defaultPositions` are the positions HF would derive when `position_ids` is not given (0..L-1, or RoBERTa's
 * pad-aware count); the sequence is too long exactly when one of them falls outside the position table.
 */
export function validateModelInputs(
  inputs: ModelInputMatrices,
  limits: InputLimits,
  defaultPositions?: IntMatrix,
): void {
  const ids = inputs.input_ids;
  const [batch, seq] = ids.dims;
  if (batch === 0 || seq === 0) {
    throw new InputError(`input_ids: empty batch (shape [${batch}, ${seq}])`, { argument: 'input_ids' });
  }
  checkRange(ids, 'input_ids', 0, limits.vocabSize, `vocab_size ${limits.vocabSize}`);
  for (const name of ['attention_mask', 'token_type_ids', 'position_ids'] as const) {
    const m = inputs[name];
    if (m && (m.dims[0] !== batch || m.dims[1] !== seq)) {
      throw new InputError(
        `${name}: shape [${m.dims.join(', ')}] does not match input_ids [${batch}, ${seq}]`,
        {
          argument: name,
        },
      );
    }
  }
  if (inputs.attention_mask) checkRange(inputs.attention_mask, 'attention_mask', 0, 2, 'values 0 or 1');
  if (inputs.token_type_ids) {
    if (limits.typeVocabSize === 0) {
      throw new InputError('token_type_ids: this model takes no token type ids', {
        argument: 'token_type_ids',
      });
    }
    checkRange(
      inputs.token_type_ids,
      'token_type_ids',
      0,
      limits.typeVocabSize,
      `type_vocab_size ${limits.typeVocabSize}`,
    );
  }
  if (inputs.position_ids) {
    checkRange(
      inputs.position_ids,
      'position_ids',
      0,
      limits.maxPositionEmbeddings,
      `max_position_embeddings ${limits.maxPositionEmbeddings}`,
    );
    return;
  }
  const positions = defaultPositions ?? arangePositions(ids.dims);
  const table = BigInt(limits.maxPositionEmbeddings);
  for (let i = 0; i < positions.data.length; i++) {
    if (positions.data[i]! >= table) {
      throw new InputError(
        `input_ids: row ${Math.floor(i / seq)} is longer than the model allows (${limits.maxSequenceLength} tokens, ` +
          `max_position_embeddings ${limits.maxPositionEmbeddings}; the batch has ${seq} columns); truncate the input`,
        { argument: 'input_ids' },
      );
    }
  }
}

function arangePositions([batch, seq]: [number, number]): IntMatrix {
  const data = new BigInt64Array(batch * seq);
  for (let i = 0; i < data.length; i++) data[i] = BigInt(i % seq);
  return { data, dims: [batch, seq] };
}

function checkRange(m: IntMatrix, argument: string, low: number, high: number, what: string): void {
  const lo = BigInt(low);
  const hi = BigInt(high);
  const seq = m.dims[1];
  for (let i = 0; i < m.data.length; i++) {
    const v = m.data[i]!;
    if (v < lo || v >= hi) {
      const row = Math.floor(i / seq);
      throw new InputError(
        `${argument}[${row}][${i - row * seq}] = ${v} is out of range [${low}, ${high}) (${what})`,
        { argument },
      );
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
