/**
 * The three tokenizers compared by bench/tokenizers.ts, behind one shape: load a tokenizer.json, encode a batch
 * padded to its longest row, encode one long text. Every peer hands back what a model needs as plain JS arrays
 * (ids and attention mask per row), so crossing the N-API boundary of the Rust binding is part of its cost, as it
 * is for a real caller.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfJsTokenizer } from '@huggingface/tokenizers';
import { Tokenizer as RustTokenizer } from 'tokenizers';
import { Tokenizer } from '../../src/tokenizers/tokenizer.js';

export const TOKENIZER_PEERS = ['seqbatch', 'tokenizers-rust', 'tokenizers-js'] as const;
export type TokenizerPeer = (typeof TOKENIZER_PEERS)[number];

export const PEER_LABELS: Record<TokenizerPeer, string> = {
  seqbatch: 'seqbatch `Tokenizer`',
  'tokenizers-rust': '`tokenizers` (Rust binding)',
  'tokenizers-js': '`@huggingface/tokenizers` (tokenizers.js)',
};

export interface PaddedRows {
  ids: number[][];
  attentionMask: number[][];
}

export interface TokenizerAdapter {
  /** Encodes `texts` with special tokens, padded to the longest row. */
  encodePadded(texts: string[]): Promise<PaddedRows> | PaddedRows;
  /** Ids of one text with special tokens, no padding and no truncation. */
  encodeLong(text: string): Promise<number[]> | number[];
}

export function loadTokenizer(peer: TokenizerPeer, dir: string): TokenizerAdapter {
  const file = join(dir, 'tokenizer.json');
  switch (peer) {
    case 'seqbatch': {
      // verbose: false silences the once-per-tokenizer "longer than the model maximum" warning of the book.
      const tokenizer = Tokenizer.fromPretrainedSync(dir);
      return {
        encodePadded(texts) {
          const batch = tokenizer.encodeBatch(texts, null, { padding: true });
          return { ids: batch.input_ids, attentionMask: batch.attention_mask };
        },
        encodeLong: (text) => tokenizer.encode(text, null, { verbose: false }).ids,
      };
    }
    case 'tokenizers-rust': {
      const padded = RustTokenizer.fromFile(file);
      padded.setPadding({}); // no maxLength: pad to the longest row of each batch
      const plain = RustTokenizer.fromFile(file);
      plain.disableTruncation();
      return {
        async encodePadded(texts) {
          const encodings = await padded.encodeBatch(texts);
          return {
            ids: encodings.map((e) => e.getIds()),
            attentionMask: encodings.map((e) => e.getAttentionMask()),
          };
        },
        encodeLong: async (text) => (await plain.encode(text)).getIds(),
      };
    }
    case 'tokenizers-js': {
      // tokenizers.js has no batch call and no padding: encode each text, then pad to the longest, by hand.
      const configPath = join(dir, 'tokenizer_config.json');
      let config: object = {};
      try {
        config = JSON.parse(readFileSync(configPath, 'utf8')) as object;
      } catch {
        // bert-base-uncased ships tokenizer.json alone
      }
      const tokenizer = new HfJsTokenizer(JSON.parse(readFileSync(file, 'utf8')) as object, config);
      const padId = tokenizer.token_to_id('[PAD]') ?? 0;
      return {
        encodePadded(texts) {
          const rows = texts.map((text) => tokenizer.encode(text).ids);
          let longest = 0;
          for (const row of rows) longest = Math.max(longest, row.length);
          const ids: number[][] = [];
          const attentionMask: number[][] = [];
          for (const row of rows) {
            const paddedRow = row.slice();
            const mask = new Array<number>(longest).fill(0, row.length).fill(1, 0, row.length);
            for (let i = row.length; i < longest; i++) paddedRow.push(padId);
            ids.push(paddedRow);
            attentionMask.push(mask);
          }
          return { ids, attentionMask };
        },
        encodeLong: (text) => tokenizer.encode(text).ids,
      };
    }
  }
}

/** An order-sensitive 32-bit digest of rows of ids (FNV-1a over the ids), to compare peers cheaply. */
export function digestRows(rows: readonly (readonly number[])[], seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (const row of rows) {
    for (const id of row) hash = Math.imul(hash ^ id, 0x01000193) >>> 0;
    hash = Math.imul(hash ^ 0xffff, 0x01000193) >>> 0; // row separator
  }
  return hash;
}
