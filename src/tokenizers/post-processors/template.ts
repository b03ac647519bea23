/**
 * TemplateProcessing: the single and pair templates of tokenizer.json, e.g. `[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1`.
 * Sequence pieces set the type id of every token of their text (also when special tokens are not added);
 * special-token pieces insert the ids listed under `special_tokens` (one piece may stand for several tokens).
 */
import { ConfigError } from '../../errors.js';
import type { Encoding } from '../../encoding/encoding.js';
import { describeJson, field, type JsonObject } from '../registry.js';
import { BasePostProcessor, specialTokensEncoding, type LayoutPiece } from './post-processor.js';

export type TemplatePiece =
  { kind: 'sequence'; sequence: 0 | 1; typeId: number } | { kind: 'special'; name: string; typeId: number };

export interface TemplateSpecialToken {
  ids: number[];
  tokens: string[];
}

export class TemplateProcessing extends BasePostProcessor {
  readonly type = 'TemplateProcessing';
  private readonly addedSingle: number;
  private readonly addedPair: number;

  constructor(
    readonly single: readonly TemplatePiece[],
    readonly pair: readonly TemplatePiece[],
    readonly specialTokens: ReadonlyMap<string, TemplateSpecialToken>,
  ) {
    super();
    const count = (template: readonly TemplatePiece[]) =>
      template.reduce(
        (n, p) => n + (p.kind === 'special' ? (specialTokens.get(p.name)?.ids.length ?? 0) : 0),
        0,
      );
    this.addedSingle = count(single);
    this.addedPair = count(pair);
  }

  static fromJSON(json: JsonObject, path: string): TemplateProcessing {
    const single = readTemplate(json.single, `${path}.single`);
    const pair = readTemplate(json.pair, `${path}.pair`);
    const specialTokens = readSpecialTokens(json, path);
    const sequencesOfPair = new Set(pair.flatMap((p) => (p.kind === 'sequence' ? [p.sequence] : [])));
    if (sequencesOfPair.size !== 2) {
      throw new ConfigError(`${path}.pair: the pair template must use both sequences $A and $B`, {
        field: `${path}.pair`,
      });
    }
    for (const [name, template] of [
      ['single', single],
      ['pair', pair],
    ] as const) {
      for (const piece of template) {
        if (piece.kind === 'special' && !specialTokens.has(piece.name)) {
          throw new ConfigError(
            `${path}.${name}: special token "${piece.name}" is not defined in ${path}.special_tokens`,
            { field: `${path}.special_tokens` },
          );
        }
      }
    }
    return new TemplateProcessing(single, pair, specialTokens);
  }

  addedTokens(isPair: boolean): number {
    return isPair ? this.addedPair : this.addedSingle;
  }

  layout(isPair: boolean, addSpecialTokens: boolean): readonly LayoutPiece[] {
    const pieces: LayoutPiece[] = [];
    for (const piece of isPair ? this.pair : this.single) {
      if (piece.kind === 'sequence') {
        // processEncodings skips a $B piece of the single template (there is no second text).
        if (isPair || piece.sequence === 0)
          pieces.push({ kind: 'sequence', sequence: piece.sequence, typeId: piece.typeId });
      } else if (addSpecialTokens) {
        const special = this.specialTokens.get(piece.name) as TemplateSpecialToken;
        pieces.push({ kind: 'special', ids: special.ids, tokens: special.tokens, typeId: piece.typeId });
      }
    }
    return pieces;
  }

  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    const template = encodings.length === 2 ? this.pair : this.single;
    const parts: Encoding[] = [];
    for (const piece of template) {
      if (piece.kind === 'sequence') {
        const encoding = encodings[piece.sequence];
        if (!encoding) continue;
        encoding.setTypeIds(piece.typeId);
        parts.push(encoding);
      } else if (addSpecialTokens) {
        const special = this.specialTokens.get(piece.name) as TemplateSpecialToken;
        parts.push(specialTokensEncoding(special.ids, special.tokens, piece.typeId));
      }
    }
    return parts;
  }
}

/** Reads a template: an array of `{"Sequence": {...}}` / `{"SpecialToken": {...}}` objects, or of strings. */
function readTemplate(value: unknown, path: string): TemplatePiece[] {
  if (typeof value === 'string') return value.split(' ').map((s, i) => parsePieceString(s, `${path}[${i}]`));
  if (!Array.isArray(value)) {
    throw new ConfigError(`${path}: expected an array of template pieces, got ${describeJson(value)}`, {
      field: path,
    });
  }
  return value.map((item, i) => readPiece(item, `${path}[${i}]`));
}

function readPiece(item: unknown, path: string): TemplatePiece {
  if (typeof item === 'string') return parsePieceString(item, path);
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    throw new ConfigError(`${path}: expected a template piece object, got ${describeJson(item)}`, {
      field: path,
    });
  }
  const obj = item as JsonObject;
  if ('Sequence' in obj) {
    const body = field.object(obj, 'Sequence', path);
    const id = field.string(body, 'id', `${path}.Sequence`);
    if (id !== 'A' && id !== 'B') {
      throw new ConfigError(`${path}.Sequence.id: expected "A" or "B", got ${JSON.stringify(id)}`, {
        field: `${path}.Sequence.id`,
      });
    }
    return { kind: 'sequence', sequence: id === 'A' ? 0 : 1, typeId: readTypeId(body, `${path}.Sequence`) };
  }
  if ('SpecialToken' in obj) {
    const body = field.object(obj, 'SpecialToken', path);
    return {
      kind: 'special',
      name: field.string(body, 'id', `${path}.SpecialToken`),
      typeId: readTypeId(body, `${path}.SpecialToken`),
    };
  }
  throw new ConfigError(`${path}: expected a "Sequence" or "SpecialToken" piece`, { field: path });
}

function readTypeId(body: JsonObject, path: string): number {
  const typeId = field.number(body, 'type_id', path, 0);
  if (!Number.isInteger(typeId) || typeId < 0) {
    throw new ConfigError(`${path}.type_id: expected a non-negative integer, got ${typeId}`, {
      field: `${path}.type_id`,
    });
  }
  return typeId;
}

/** The string form used by the Python/Rust builders: `$A`, `$B:1`, `$1`, `[CLS]`, `[SEP]:1`. */
function parsePieceString(text: string, path: string): TemplatePiece {
  const fail = () =>
    new ConfigError(`${path}: cannot read template piece ${JSON.stringify(text)}`, { field: path });
  const parts = text.split(':');
  if (parts.length > 2) throw fail();
  let typeId = 0;
  if (parts.length === 2) {
    if (!/^\d+$/.test(parts[1])) throw fail();
    typeId = Number(parts[1]);
  }
  const id = parts[0];
  if (!id.startsWith('$')) return { kind: 'special', name: id, typeId };
  const rest = id.slice(1);
  if (rest === '' || rest === 'A' || rest === 'a') return { kind: 'sequence', sequence: 0, typeId };
  if (rest === 'B' || rest === 'b') return { kind: 'sequence', sequence: 1, typeId };
  if (/^\d+$/.test(rest) && parts.length === 1)
    return { kind: 'sequence', sequence: 0, typeId: Number(rest) };
  throw fail();
}

function readSpecialTokens(json: JsonObject, path: string): Map<string, TemplateSpecialToken> {
  const result = new Map<string, TemplateSpecialToken>();
  if (json.special_tokens === undefined || json.special_tokens === null) return result;
  const map = field.object(json, 'special_tokens', path);
  for (const [name, value] of Object.entries(map)) {
    const itemPath = `${path}.special_tokens.${name}`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(
        `${itemPath}: expected an object with ids and tokens, got ${describeJson(value)}`,
        {
          field: itemPath,
        },
      );
    }
    const ids = field.array(value as JsonObject, 'ids', itemPath);
    const tokens = field.array(value as JsonObject, 'tokens', itemPath);
    if (!ids.every((id) => typeof id === 'number' && Number.isInteger(id) && id >= 0)) {
      throw new ConfigError(`${itemPath}.ids: expected non-negative integer ids`, {
        field: `${itemPath}.ids`,
      });
    }
    if (!tokens.every((t) => typeof t === 'string')) {
      throw new ConfigError(`${itemPath}.tokens: expected strings`, { field: `${itemPath}.tokens` });
    }
    if (ids.length !== tokens.length) {
      throw new ConfigError(`${itemPath}: ids and tokens must have the same length`, { field: itemPath });
    }
    result.set(name, { ids: ids as number[], tokens: tokens as string[] });
  }
  return result;
}
