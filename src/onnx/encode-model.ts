/**
 * Serialises a ModelProto into one buffer of exactly its size, writing each initializer's bytes once.
 *
 * protobufjs' writer grows its buffer by doubling (each step copies what was written so far) and `finish()` copies
 * the result once more, so encoding a graph with N bytes of weights allocated about 3N beside the N the
 * initializers already hold: 400 MiB for the 138 MiB int8 DistilBERT-base graph, which set the int8 load's peak
 * RSS. Here protobufjs encodes only the small parts (every message without the initializers, each initializer
 * without its raw data), and the pieces are assembled into one buffer allocated at its final size, in field-number
 * order, so the bytes are exactly protobufjs' own encoding (tested). The result owns its whole ArrayBuffer, so it
 * can be moved to the ONNX Runtime thread without a copy.
 */
import type protobuf from 'protobufjs';
import { GraphProto, ModelProto, TensorProto, type GraphProtoData, type TensorProtoData } from './proto.js';

/** The ModelProto fields the builder fills; `graph` holds the initializers. */
export interface ModelProtoData {
  graph: GraphProtoData;
  [field: string]: unknown;
}

/** The tag byte of a length-delimited field (wire type 2); the fields split on here are numbered below 16. */
function tag(type: protobuf.Type, name: string): number {
  const id = type.fields[name]!.id;
  if (id >= 16) throw new RangeError(`${type.name}.${name}: field ${id} needs a tag of more than one byte`);
  return (id << 3) | 2;
}

function varintSize(n: number): number {
  return n < 2 ** 7 ? 1 : n < 2 ** 14 ? 2 : n < 2 ** 21 ? 3 : n < 2 ** 28 ? 4 : 5;
}

/** `message` split around the field `name`: the fields numbered below it and those above, each encoded. */
function around(type: protobuf.Type, message: object, name: string): [Uint8Array, Uint8Array] {
  const id = type.fields[name]!.id;
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (key === name) continue;
    const field = type.fields[key];
    if (field) (field.id < id ? before : after)[key] = value;
  }
  return [type.encode(before).finish(), type.encode(after).finish()];
}

/** A piece of the output: encoded bytes, or a tag and length to write as varints. */
type Piece = Uint8Array | { tag: number; length: number };

export function encodeModel(model: ModelProtoData): Uint8Array {
  const pieces: Piece[] = [];
  const [modelBefore, modelAfter] = around(ModelProto, model, 'graph');
  const [graphBefore, graphAfter] = around(GraphProto, model.graph, 'initializer');
  const graphPieces: Piece[] = [graphBefore];
  let graphLength = graphBefore.byteLength + graphAfter.byteLength;
  for (const tensor of model.graph.initializer as TensorProtoData[]) {
    const [head, tail] = around(TensorProto, tensor, 'rawData');
    const raw = tensor.rawData;
    // protobufjs leaves an empty bytes field out: so does this.
    const rawPieces: Piece[] =
      raw.byteLength === 0 ? [] : [{ tag: tag(TensorProto, 'rawData'), length: raw.byteLength }, raw];
    const rawLength = raw.byteLength === 0 ? 0 : 1 + varintSize(raw.byteLength) + raw.byteLength;
    const length = head.byteLength + rawLength + tail.byteLength;
    graphPieces.push({ tag: tag(GraphProto, 'initializer'), length }, head, ...rawPieces, tail);
    graphLength += 1 + varintSize(length) + length;
  }
  graphPieces.push(graphAfter);
  pieces.push(
    modelBefore,
    { tag: tag(ModelProto, 'graph'), length: graphLength },
    ...graphPieces,
    modelAfter,
  );

  let size = 0;
  for (const piece of pieces)
    size += piece instanceof Uint8Array ? piece.byteLength : 1 + varintSize(piece.length);
  const out = new Uint8Array(size); // its own ArrayBuffer, exactly the model's size
  let pos = 0;
  for (const piece of pieces) {
    if (piece instanceof Uint8Array) {
      out.set(piece, pos);
      pos += piece.byteLength;
      continue;
    }
    out[pos++] = piece.tag;
    for (let n = piece.length; ; n = Math.floor(n / 128)) {
      if (n < 128) {
        out[pos++] = n;
        break;
      }
      out[pos++] = (n % 128) | 128;
    }
  }
  return out;
}
