/**
 * Padding of already-encoded features (transformers' `tokenizer.pad`): rows of input ids with optional attention
 * masks, token type ids and special-tokens masks, as a dict of rows or a list of per-row dicts. Existing
 * attention masks are kept and extended; a missing one is created (1 on every existing token). Other keys are
 * passed through untouched, as transformers does.
 */
import { InputError } from '../errors.js';
import type { PadToken } from './padding.js';
import { roundUpToMultiple } from './padding.js';
import { rowsToTensor, type IntTensor, type TensorDType } from './tensors.js';
import type { Side } from './truncation.js';

/** The padded fields; other keys of the input come back unchanged. */
export interface PaddedFeatures {
  input_ids: number[][];
  attention_mask?: number[][];
  token_type_ids?: number[][];
  special_tokens_mask?: number[][];
  [key: string]: unknown;
}

export interface PadOptions {
  /** true / 'longest' (default): pad to the longest row; 'max_length': to `maxLength`; false: no padding. */
  padding?: boolean | 'longest' | 'max_length' | 'do_not_pad';
  maxLength?: number | null;
  padToMultipleOf?: number | null;
  paddingSide?: Side;
  /** Default: whether the model takes an attention mask. */
  returnAttentionMask?: boolean;
}

export interface PadContext {
  pad: PadToken | null;
  modelMaxLength: number;
  paddingSide: Side;
  returnsAttentionMask: boolean;
  warn(message: string): void;
}

type FeatureRow = Record<string, unknown>;

const PADDED_KEYS = ['input_ids', 'attention_mask', 'token_type_ids', 'special_tokens_mask'] as const;

function checkIdRows(value: unknown, key: string, rowCount: number | null): number[][] {
  if (!Array.isArray(value) || (rowCount !== null && value.length !== rowCount)) {
    throw new InputError(
      `features.${key}: expected an array of ${rowCount ?? ''} rows of integers` +
        (Array.isArray(value) ? `, got ${value.length} rows` : ''),
      { argument: `features.${key}` },
    );
  }
  value.forEach((row, i) => {
    if (!Array.isArray(row) || !row.every((v) => typeof v === 'number' && Number.isInteger(v))) {
      throw new InputError(`features.${key}[${i}]: expected an array of integers`, {
        argument: `features.${key}[${i}]`,
      });
    }
  });
  return value as number[][];
}

/** Accepts `{input_ids: rows, …}` or `[{input_ids: row, …}, …]` and returns the dict-of-rows form (copied). */
function toColumns(features: unknown): Record<string, unknown> {
  if (Array.isArray(features)) {
    const columns: Record<string, unknown[]> = {};
    features.forEach((row: unknown, i) => {
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        throw new InputError(`features[${i}]: expected an object with input_ids`, {
          argument: `features[${i}]`,
        });
      }
      for (const [key, value] of Object.entries(row as FeatureRow)) (columns[key] ??= []).push(value);
    });
    for (const [key, values] of Object.entries(columns)) {
      if (values.length !== features.length) {
        throw new InputError(`features: key ${key} is missing from some rows`, { argument: 'features' });
      }
    }
    if (features.length === 0) columns.input_ids = [];
    return columns;
  }
  if (features === null || typeof features !== 'object') {
    throw new InputError('features: expected an object of rows or an array of row objects', {
      argument: 'features',
    });
  }
  return { ...(features as Record<string, unknown>) };
}

export function padFeatures(
  context: PadContext,
  features: unknown,
  options: PadOptions = {},
): PaddedFeatures {
  const columns = toColumns(features);
  if (!('input_ids' in columns)) {
    throw new InputError(
      `features: You should supply an encoding or a list of encodings to this method that includes input_ids, ` +
        `but you provided ${JSON.stringify(Object.keys(columns))}`,
      { argument: 'features' },
    );
  }
  const inputIds = checkIdRows(columns.input_ids, 'input_ids', null).map((row) => [...row]);
  const rowCount = inputIds.length;
  const result: PaddedFeatures = { ...columns, input_ids: inputIds };
  for (const key of PADDED_KEYS.slice(1)) {
    if (columns[key] !== undefined) {
      const rows = checkIdRows(columns[key], key, rowCount);
      rows.forEach((row, i) => {
        if (row.length !== inputIds[i].length) {
          throw new InputError(
            `features.${key}[${i}]: has ${row.length} values for ${inputIds[i].length} input ids`,
            {
              argument: `features.${key}[${i}]`,
            },
          );
        }
      });
      result[key] = rows.map((row) => [...row]);
    }
  }
  const returnAttentionMask = options.returnAttentionMask ?? context.returnsAttentionMask;
  if (returnAttentionMask && result.attention_mask === undefined) {
    result.attention_mask = inputIds.map((row) => new Array<number>(row.length).fill(1));
  }

  const padding = options.padding ?? true;
  if (![true, false, 'longest', 'max_length', 'do_not_pad'].includes(padding)) {
    throw new InputError(
      `padding: expected true, false, 'longest' or 'max_length', got ${JSON.stringify(padding)}`,
      {
        argument: 'padding',
      },
    );
  }
  if (padding === false || padding === 'do_not_pad') return result;
  let target: number | null = null;
  if (padding === 'max_length') {
    target = options.maxLength ?? (Number.isFinite(context.modelMaxLength) ? context.modelMaxLength : null);
    if (target === null) {
      context.warn(
        'Asking to pad to max_length but no maximum length is provided and the model has no predefined ' +
          'maximum length. Default to no padding.',
      );
      return result;
    }
  } else {
    target = inputIds.reduce((max, row) => Math.max(max, row.length), 0);
  }
  const multiple = options.padToMultipleOf ?? null;
  if (multiple !== null && (!Number.isInteger(multiple) || multiple < 1)) {
    throw new InputError(`padToMultipleOf: expected an integer ≥ 1, got ${JSON.stringify(multiple)}`, {
      argument: 'padToMultipleOf',
    });
  }
  target = roundUpToMultiple(target, multiple);
  const side = options.paddingSide ?? context.paddingSide;
  if (side !== 'left' && side !== 'right') {
    throw new InputError(`paddingSide: expected 'left' or 'right', got ${JSON.stringify(side)}`, {
      argument: 'paddingSide',
    });
  }
  const pad = context.pad;
  if (!pad && inputIds.some((row) => row.length < (target as number))) {
    throw new InputError('Asking to pad but the tokenizer does not have a padding token.', {
      argument: 'padding',
    });
  }
  const fills: Record<(typeof PADDED_KEYS)[number], number> = {
    input_ids: pad?.id ?? 0,
    attention_mask: 0,
    token_type_ids: pad?.typeId ?? 0,
    special_tokens_mask: 1,
  };
  for (const key of PADDED_KEYS) {
    const rows = result[key];
    if (!rows) continue;
    for (let i = 0; i < rows.length; i++) {
      const count = target - rows[i].length;
      if (count <= 0) continue;
      const filler = new Array<number>(count).fill(fills[key]);
      rows[i] = side === 'right' ? rows[i].concat(filler) : filler.concat(rows[i]);
    }
  }
  return result;
}

/** Tensors of the padded fields (rows must be rectangular). */
export function featuresToTensors(
  features: PaddedFeatures,
  dtype: TensorDType = 'int64',
  fields: readonly (typeof PADDED_KEYS)[number][] = ['input_ids', 'attention_mask'],
): Record<string, IntTensor> {
  const result: Record<string, IntTensor> = {};
  for (const key of fields) {
    const rows = features[key];
    if (!rows) throw new InputError(`fields: the features have no ${key}`, { argument: 'fields' });
    result[key] = rowsToTensor(rows, dtype, key);
  }
  return result;
}
