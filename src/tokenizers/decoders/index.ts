import { field, Registry } from '../registry.js';
import { BPEDecoder } from './bpe.js';
import { ByteFallbackDecoder } from './byte-fallback.js';
import { ByteLevelDecoder } from './byte-level.js';
import { CTCDecoder } from './ctc.js';
import type { Decoder } from './decoder.js';
import { FuseDecoder } from './fuse.js';
import { MetaspaceDecoder } from './metaspace.js';
import { ReplaceDecoder } from './replace.js';
import { SequenceDecoder } from './sequence.js';
import { StripDecoder } from './strip.js';
import { WordPieceDecoder } from './wordpiece.js';

export { BaseDecoder, replaceLiteral, type Decoder } from './decoder.js';
export { BPEDecoder } from './bpe.js';
export { ByteFallbackDecoder } from './byte-fallback.js';
export { ByteLevelDecoder } from './byte-level.js';
export { CTCDecoder } from './ctc.js';
export { FuseDecoder } from './fuse.js';
export { MetaspaceDecoder, readPrependScheme, type PrependScheme } from './metaspace.js';
export { ReplaceDecoder } from './replace.js';
export { SequenceDecoder } from './sequence.js';
export { StripDecoder } from './strip.js';
export { cleanupTokenization, WordPieceDecoder } from './wordpiece.js';

/** Decoders by their tokenizer.json `type`. */
export const decoders = new Registry<Decoder>('decoder');
decoders.register('WordPiece', (json, path) => WordPieceDecoder.fromJSON(json, path));
decoders.register('ByteLevel', () => new ByteLevelDecoder());
decoders.register('Metaspace', (json, path) => MetaspaceDecoder.fromJSON(json, path));
decoders.register('BPEDecoder', (json, path) => BPEDecoder.fromJSON(json, path));
decoders.register('Replace', (json, path) => ReplaceDecoder.fromJSON(json, path));
decoders.register('Fuse', () => new FuseDecoder());
decoders.register('Strip', (json, path) => StripDecoder.fromJSON(json, path));
decoders.register('ByteFallback', () => new ByteFallbackDecoder());
decoders.register('CTC', (json, path) => CTCDecoder.fromJSON(json, path));
decoders.register(
  'Sequence',
  (json, path) =>
    new SequenceDecoder(
      field
        .array(json, 'decoders', path)
        .map((child, i) => decoders.fromJSON(child, `${path}.decoders[${i}]`)),
    ),
);

/** Builds the decoder of a tokenizer.json (`path` names where it sits, e.g. `decoder`). */
export function decoderFromJSON(json: unknown, path = 'decoder'): Decoder {
  return decoders.fromJSON(json, path);
}
