/** tokenizer.json's `truncation` and `padding` blocks (applied only on request, see TokenizerOptions). */
import type { ResolvedPadding, ResolvedTruncation } from '../../encoding/call-options.js';
import type { Side } from '../../encoding/truncation.js';
import { ConfigError } from '../../errors.js';
import { describeJson, type JsonObject } from '../registry.js';
import type { TokenizerJsonBlocks } from './types.js';

const STRATEGIES: Record<string, ResolvedTruncation['strategy']> = {
  LongestFirst: 'longest_first',
  OnlyFirst: 'only_first',
  OnlySecond: 'only_second',
};

function direction(value: unknown, path: string): Side {
  if (value === undefined || value === null || value === 'Right') return 'right';
  if (value === 'Left') return 'left';
  throw new ConfigError(`${path}: expected "Left" or "Right", got ${describeJson(value)}`, { field: path });
}

function nonNegative(value: unknown, path: string, fallback?: number): number {
  if ((value === undefined || value === null) && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ConfigError(`${path}: expected a non-negative integer, got ${describeJson(value)}`, {
      field: path,
    });
  }
  return value;
}

/** Reads tokenizer.json's `truncation` and `padding` blocks (null when absent). */
export function readBlocks(json: JsonObject): TokenizerJsonBlocks {
  let truncation: ResolvedTruncation | null = null;
  let padding: ResolvedPadding | null = null;
  const t = json.truncation;
  if (t !== undefined && t !== null) {
    if (typeof t !== 'object' || Array.isArray(t)) {
      throw new ConfigError(`truncation: expected an object or null, got ${describeJson(t)}`, {
        field: 'truncation',
      });
    }
    const block = t as JsonObject;
    const strategy = STRATEGIES[block.strategy as string];
    if (!strategy) {
      throw new ConfigError(
        `truncation.strategy: expected LongestFirst, OnlyFirst or OnlySecond, got ${describeJson(block.strategy)}`,
        { field: 'truncation.strategy' },
      );
    }
    truncation = {
      strategy,
      maxLength: nonNegative(block.max_length, 'truncation.max_length'),
      stride: nonNegative(block.stride, 'truncation.stride', 0),
      side: direction(block.direction, 'truncation.direction'),
    };
  }
  const p = json.padding;
  if (p !== undefined && p !== null) {
    if (typeof p !== 'object' || Array.isArray(p)) {
      throw new ConfigError(`padding: expected an object or null, got ${describeJson(p)}`, {
        field: 'padding',
      });
    }
    const block = p as JsonObject;
    const strategy = block.strategy;
    let target: ResolvedPadding['target'];
    if (strategy === 'BatchLongest') target = 'longest';
    else if (strategy && typeof strategy === 'object' && 'Fixed' in strategy) {
      target = nonNegative((strategy as JsonObject).Fixed, 'padding.strategy.Fixed');
    } else {
      throw new ConfigError(
        `padding.strategy: expected "BatchLongest" or {"Fixed": n}, got ${describeJson(strategy)}`,
        {
          field: 'padding.strategy',
        },
      );
    }
    const multiple = block.pad_to_multiple_of;
    padding = {
      target,
      multipleOf:
        multiple === null || multiple === undefined
          ? null
          : nonNegative(multiple, 'padding.pad_to_multiple_of'),
      side: direction(block.direction, 'padding.direction'),
      pad: {
        id: nonNegative(block.pad_id, 'padding.pad_id', 0),
        typeId: nonNegative(block.pad_type_id, 'padding.pad_type_id', 0),
        token: typeof block.pad_token === 'string' ? block.pad_token : '[PAD]',
      },
    };
  }
  return { truncation, padding };
}
