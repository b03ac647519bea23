/**
 * Exactness check for bench/tokenizers.ts (not timed): every peer encodes the same SST-2 batches and the book;
 * rows whose padded ids or attention mask differ from the Rust binding's are counted, with a few examples.
 *   --tokenizer DIR --book FILE [--limit N] [--batch 32]
 */
import { readFileSync } from 'node:fs';
import { readSst2Sentences } from '../lib/data.js';
import { loadTokenizer, TOKENIZER_PEERS, type TokenizerPeer } from '../lib/tokenizer-peers.js';
import { sendResult, workerArgs } from '../lib/worker.js';

const args = workerArgs({
  tokenizer: { type: 'string' },
  book: { type: 'string' },
  limit: { type: 'string' },
  batch: { type: 'string', default: '32' },
});
if (!args.tokenizer || !args.book) throw new Error('--tokenizer DIR and --book FILE are required');
const all = readSst2Sentences('train');
const texts = args.limit ? all.slice(0, Number(args.limit)) : all;
const batchSize = Number(args.batch);
const reference: TokenizerPeer = 'tokenizers-rust';
const adapters = Object.fromEntries(TOKENIZER_PEERS.map((p) => [p, loadTokenizer(p, args.tokenizer!)]));

const sameRow = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

interface PeerCheck {
  rows: number;
  mismatchedRows: number;
  examples: { row: number; text: string; expected: number[]; got: number[] }[];
  bookTokens: number;
  bookMismatch: boolean;
  bookFirstDifference: number | null;
}
const checks: Record<string, PeerCheck> = {};
for (const peer of TOKENIZER_PEERS) {
  checks[peer] = {
    rows: 0,
    mismatchedRows: 0,
    examples: [],
    bookTokens: 0,
    bookMismatch: false,
    bookFirstDifference: null,
  };
}

for (let start = 0; start < texts.length; start += batchSize) {
  const batch = texts.slice(start, start + batchSize);
  const expected = await adapters[reference].encodePadded(batch);
  for (const peer of TOKENIZER_PEERS) {
    const got = await adapters[peer].encodePadded(batch);
    const check = checks[peer];
    batch.forEach((text, i) => {
      check.rows++;
      if (sameRow(got.ids[i], expected.ids[i]) && sameRow(got.attentionMask[i], expected.attentionMask[i]))
        return;
      check.mismatchedRows++;
      if (check.examples.length < 5) {
        check.examples.push({ row: start + i, text, expected: expected.ids[i], got: got.ids[i] });
      }
    });
  }
}

const book = readFileSync(args.book, 'utf8');
const expectedBook = await adapters[reference].encodeLong(book);
for (const peer of TOKENIZER_PEERS) {
  const got = await adapters[peer].encodeLong(book);
  const check = checks[peer];
  check.bookTokens = got.length;
  const limit = Math.max(got.length, expectedBook.length);
  for (let i = 0; i < limit; i++) {
    if (got[i] !== expectedBook[i]) {
      check.bookMismatch = true;
      check.bookFirstDifference = i;
      break;
    }
  }
}
sendResult({ reference, texts: texts.length, batchSize, checks });
