/**
 * Reading a SentencePiece `.model` file (`spm.model`, `spiece.model`, `sentencepiece.bpe.model`): the protobuf
 * message `ModelProto` of sentencepiece_model.proto, of which only the fields the converters use are declared (with
 * their official numbers; protobufjs skips the others).
 */
import protobuf from 'protobufjs';
import { ConfigError } from '../../errors.js';

const schema = {
  nested: {
    sentencepiece: {
      nested: {
        ModelProto: {
          fields: {
            pieces: { rule: 'repeated', type: 'SentencePiece', id: 1 },
            trainerSpec: { type: 'TrainerSpec', id: 2 },
            normalizerSpec: { type: 'NormalizerSpec', id: 3 },
          },
        },
        // ModelProto.SentencePiece, declared flat: nesting changes nothing on the wire.
        SentencePiece: {
          fields: {
            piece: { type: 'string', id: 1 },
            score: { type: 'float', id: 2 },
            type: { type: 'int32', id: 3, options: { default: 1 } },
          },
        },
        TrainerSpec: {
          fields: {
            modelType: { type: 'int32', id: 3, options: { default: 1 } },
            byteFallback: { type: 'bool', id: 35 },
            unkId: { type: 'int32', id: 40 },
            unkPiece: { type: 'string', id: 45, options: { default: '<unk>' } },
          },
        },
        NormalizerSpec: {
          fields: {
            name: { type: 'string', id: 1 },
            precompiledCharsmap: { type: 'bytes', id: 2 },
          },
        },
      },
    },
  },
};

const ModelProto = protobuf.Root.fromJSON(schema).lookupType('sentencepiece.ModelProto');

/** `TrainerSpec.ModelType`: the two segmentation algorithms the fast tokenizers can run. */
export const SPM_UNIGRAM = 1;
export const SPM_BPE = 2;

/** `SentencePiece.Type` values. */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

/** The parts of a SentencePiece model that transformers' converters read. */
export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** 1 Unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  unkPiece: string;
  byteFallback: boolean;
  /** The normalizer's compiled character map, or null when the model normalizes nothing. */
  precompiledCharsmap: Uint8Array | null;
}

interface DecodedModel {
  pieces?: { piece?: string; score?: number; type?: number }[];
  trainerSpec?: { modelType?: number; byteFallback?: boolean; unkId?: number; unkPiece?: string };
  normalizerSpec?: { precompiledCharsmap?: Uint8Array };
}

/** Parses a `.model` file; a file that is not a SentencePiece model is a ConfigError naming it. */
export function readSentencePieceModel(bytes: Uint8Array, file: string): SentencePieceModel {
  let decoded: DecodedModel;
  try {
    decoded = ModelProto.toObject(ModelProto.decode(bytes), { defaults: true }) as DecodedModel;
  } catch (error) {
    throw new ConfigError(
      `${file}: not a SentencePiece model (protobuf decoding failed: ${(error as Error).message})`,
      { file, cause: error },
    );
  }
  const pieces = (decoded.pieces ?? []).map((p) => ({
    piece: p.piece ?? '',
    score: p.score ?? 0,
    type: p.type ?? PieceType.NORMAL,
  }));
  if (pieces.length === 0) {
    throw new ConfigError(`${file}: not a SentencePiece model (it has no pieces)`, { file, field: 'pieces' });
  }
  const trainer = decoded.trainerSpec ?? {};
  const unkId = trainer.unkId ?? 0;
  if (unkId < 0 || unkId >= pieces.length) {
    throw new ConfigError(
      `${file}: trainer_spec.unk_id: ${unkId} is not the index of a piece (0..${pieces.length - 1})`,
      { file, field: 'trainer_spec.unk_id' },
    );
  }
  const charsmap = decoded.normalizerSpec?.precompiledCharsmap;
  return {
    pieces,
    modelType: trainer.modelType ?? SPM_UNIGRAM,
    unkId,
    unkPiece: trainer.unkPiece ?? '<unk>',
    byteFallback: trainer.byteFallback ?? false,
    precompiledCharsmap: charsmap && charsmap.length > 0 ? charsmap : null,
  };
}
