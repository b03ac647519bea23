/**
 * Loading a tokenizer from a Hugging Face folder: tokenizer.json (the fast-tokenizer file) with
 * tokenizer_config.json, special_tokens_map.json and config.json beside it, or a legacy folder holding only a
 * SentencePiece model (`spm.model`, `spiece.model`, `sentencepiece.bpe.model`), `vocab.txt` (BERT family) or
 * `vocab.json` + `merges.txt` (RoBERTa / GPT-2 byte-level BPE), which are converted the way transformers'
 * `convert_slow_tokenizer` does. Every problem is a ConfigError naming the file and field.
 */
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { JsonObject } from '../registry.js';
import { parseJsonFile, SENTENCEPIECE_FILES, type TokenizerFolder } from './files.js';
import { byteLevelBpeFromFiles, wordPieceFromVocab } from './legacy.js';
import { partsFromSentencePiece } from './spm-folder.js';
import { partsFromTokenizerJSON } from './tokenizer-json.js';
import type { ConfigContext, TokenizerParts } from './types.js';

export {
  parseJsonFile,
  readTokenizerFolder,
  readTokenizerFolderSync,
  type TokenizerFolder,
} from './files.js';
export { tokenizerJsonFromSentencePiece } from './spm-folder.js';
export { partsFromTokenizerJSON } from './tokenizer-json.js';
export {
  SPECIAL_TOKEN_KEYS,
  type ConfigContext,
  type SpecialTokenKey,
  type SpecialTokens,
  type TokenizerJsonBlocks,
  type TokenizerParts,
  type TokenizerSettings,
} from './types.js';

/** Builds the parts from a folder's files. */
export function partsFromFolder(folder: TokenizerFolder): TokenizerParts {
  const config: JsonObject = {
    ...(folder.tokenizerConfig ? parseJsonFile(folder.tokenizerConfig) : {}),
    // transformers lets special_tokens_map.json override tokenizer_config.json's special tokens.
    ...(folder.specialTokensMap ? parseJsonFile(folder.specialTokensMap) : {}),
  };
  const modelConfig = folder.modelConfig ? parseJsonFile(folder.modelConfig) : {};
  const context: ConfigContext = {
    config,
    configFile: folder.tokenizerConfig?.file ?? folder.specialTokensMap?.file ?? 'tokenizer_config.json',
    modelType: typeof modelConfig.model_type === 'string' ? modelConfig.model_type : null,
    guessSpecialTokens: true,
  };
  if (folder.tokenizerJson) {
    const json = parseJsonFile(folder.tokenizerJson);
    return partsFromTokenizerJSON(json, context, folder.tokenizerJson.file);
  }
  if (folder.sentencePiece) return partsFromSentencePiece(folder.sentencePiece, context);
  if (folder.vocabTxt) return wordPieceFromVocab(folder.vocabTxt, context);
  if (folder.vocabJson && folder.mergesTxt)
    return byteLevelBpeFromFiles(folder.vocabJson, folder.mergesTxt, context);
  if (folder.vocabJson) {
    throw new ConfigError(
      `${join(folder.dir, 'merges.txt')}: missing (vocab.json needs merges.txt beside it)`,
      {
        file: join(folder.dir, 'merges.txt'),
      },
    );
  }
  throw new ConfigError(
    `${folder.dir}: no tokenizer files found (expected tokenizer.json, or a SentencePiece model (${SENTENCEPIECE_FILES.join(', ')}), or vocab.txt, or vocab.json + merges.txt)`,
    { file: folder.dir },
  );
}
