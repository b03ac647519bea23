/** Reading a tokenizer folder's known files (async or sync) and parsing its JSON files, errors naming the file. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { describeJson, type JsonObject } from '../registry.js';
import type { BinaryFile, TextFile } from './types.js';

/** The files of a tokenizer folder, read but not interpreted. */
export interface TokenizerFolder {
  dir: string;
  tokenizerJson: TextFile | null;
  tokenizerConfig: TextFile | null;
  specialTokensMap: TextFile | null;
  modelConfig: TextFile | null;
  vocabTxt: TextFile | null;
  vocabJson: TextFile | null;
  mergesTxt: TextFile | null;
  /** The SentencePiece model, read only when there is no tokenizer.json. */
  sentencePiece: BinaryFile | null;
}

/** The names SentencePiece-based slow tokenizers save their model under (DeBERTa-v2; ALBERT and T5; XLM-R, CamemBERT). */
export const SENTENCEPIECE_FILES = ['spm.model', 'spiece.model', 'sentencepiece.bpe.model'] as const;

const FOLDER_FILES = {
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  modelConfig: 'config.json',
  vocabTxt: 'vocab.txt',
  vocabJson: 'vocab.json',
  mergesTxt: 'merges.txt',
} as const;

type FolderKey = keyof typeof FOLDER_FILES;

function checkFolder(dir: string, isDirectory: boolean | null): void {
  if (isDirectory === null) throw new ConfigError(`${dir}: tokenizer folder not found`, { file: dir });
  if (!isDirectory) throw new ConfigError(`${dir}: expected a tokenizer folder, found a file`, { file: dir });
}

/** Reads the known files of a tokenizer folder (those present). */
export async function readTokenizerFolder(dir: string): Promise<TokenizerFolder> {
  const info = await stat(dir).catch(() => null);
  checkFolder(dir, info ? info.isDirectory() : null);
  const folder = { dir } as TokenizerFolder;
  await Promise.all(
    (Object.keys(FOLDER_FILES) as FolderKey[]).map(async (key) => {
      const file = join(dir, FOLDER_FILES[key]);
      const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return null;
        throw new ConfigError(`${file}: cannot be read (${error.message})`, { file, cause: error });
      });
      folder[key] = text === null ? null : { file, text };
    }),
  );
  folder.sentencePiece = null;
  for (const name of folder.tokenizerJson ? [] : SENTENCEPIECE_FILES) {
    const file = join(dir, name);
    const bytes = await readFile(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw new ConfigError(`${file}: cannot be read (${error.message})`, { file, cause: error });
    });
    if (bytes !== null) {
      folder.sentencePiece = { file, bytes };
      break;
    }
  }
  return folder;
}

/** Synchronous `readTokenizerFolder`. */
export function readTokenizerFolderSync(dir: string): TokenizerFolder {
  checkFolder(dir, existsSync(dir) ? statSync(dir).isDirectory() : null);
  const folder = { dir } as TokenizerFolder;
  for (const key of Object.keys(FOLDER_FILES) as FolderKey[]) {
    const file = join(dir, FOLDER_FILES[key]);
    if (!existsSync(file)) {
      folder[key] = null;
      continue;
    }
    try {
      folder[key] = { file, text: readFileSync(file, 'utf8') };
    } catch (error) {
      throw new ConfigError(`${file}: cannot be read (${(error as Error).message})`, { file, cause: error });
    }
  }
  folder.sentencePiece = null;
  for (const name of folder.tokenizerJson ? [] : SENTENCEPIECE_FILES) {
    const file = join(dir, name);
    if (!existsSync(file)) continue;
    try {
      folder.sentencePiece = { file, bytes: readFileSync(file) };
    } catch (error) {
      throw new ConfigError(`${file}: cannot be read (${(error as Error).message})`, { file, cause: error });
    }
    break;
  }
  return folder;
}

/** Parses a JSON file that must hold an object; the error names the file (truncated files included). */
export function parseJsonFile(source: TextFile): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(source.text);
  } catch (error) {
    const detail = source.text.trim() === '' ? 'the file is empty' : (error as Error).message;
    throw new ConfigError(`${source.file}: not valid JSON (${detail})`, { file: source.file, cause: error });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source.file}: expected a JSON object, got ${describeJson(value)}`, {
      file: source.file,
    });
  }
  return value as JsonObject;
}
