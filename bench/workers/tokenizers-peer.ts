/**
 * One tokenizer peer, timed in its own process (spawned by bench/tokenizers.ts):
 *   --peer P --mode sst2|book [--limit N] [--batch 32] [--passes N] [--tokenizer DIR] [--book FILE]
 * sst2: the `sentence` column of SST-2 train in consecutive batches padded to their longest row.
 * book: the whole file as one text (no truncation).
 * Each pass is timed separately after a warm-up on the first texts (or the first 200 kB of the book).
 */
import { readFileSync } from 'node:fs';
import { readSst2Sentences, utf8Bytes } from '../lib/data.js';
import { digestRows, loadTokenizer, TOKENIZER_PEERS, type TokenizerPeer } from '../lib/tokenizer-peers.js';
import { secondsSince, sendResult, workerArgs } from '../lib/worker.js';

const args = workerArgs({
  peer: { type: 'string' },
  mode: { type: 'string', default: 'sst2' },
  limit: { type: 'string' },
  batch: { type: 'string', default: '32' },
  passes: { type: 'string', default: '1' },
  tokenizer: { type: 'string' },
  book: { type: 'string' },
});
const peer = args.peer as TokenizerPeer;
if (!TOKENIZER_PEERS.includes(peer)) throw new Error(`--peer must be one of ${TOKENIZER_PEERS.join(', ')}`);
if (!args.tokenizer) throw new Error('--tokenizer DIR is required');
const passes = Number(args.passes);

const loadStart = performance.now();
const tokenizer = loadTokenizer(peer, args.tokenizer);
const loadSeconds = secondsSince(loadStart);

if (args.mode === 'sst2') {
  const all = readSst2Sentences('train');
  const texts = args.limit ? all.slice(0, Number(args.limit)) : all;
  const batchSize = Number(args.batch);
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += batchSize) batches.push(texts.slice(i, i + batchSize));

  const runPass = async (subset: string[][]) => {
    let digest = 0x811c9dc5;
    let paddedTokens = 0;
    let realTokens = 0;
    for (const batch of subset) {
      const rows = await tokenizer.encodePadded(batch);
      digest = digestRows(rows.ids, digest);
      paddedTokens += rows.ids.length * (rows.ids[0]?.length ?? 0);
      for (const mask of rows.attentionMask) for (const m of mask) realTokens += m;
    }
    return { digest, paddedTokens, realTokens };
  };
  // Warm-up: enough batches for the JIT to settle on the hot paths (about 5,000 texts).
  await runPass(batches.slice(0, Math.ceil(5000 / batchSize)));
  const seconds: number[] = [];
  let last = { digest: 0, paddedTokens: 0, realTokens: 0 };
  for (let p = 0; p < passes; p++) {
    const start = performance.now();
    last = await runPass(batches);
    seconds.push(secondsSince(start));
  }
  sendResult({
    peer,
    mode: 'sst2',
    texts: texts.length,
    bytes: utf8Bytes(texts),
    batchSize,
    loadSeconds,
    seconds,
    ...last,
  });
} else if (args.mode === 'book') {
  if (!args.book) throw new Error('--book FILE is required in book mode');
  const text = readFileSync(args.book, 'utf8');
  await tokenizer.encodeLong(text.slice(0, 200_000));
  const seconds: number[] = [];
  let ids: number[] = [];
  for (let p = 0; p < passes; p++) {
    const start = performance.now();
    ids = await tokenizer.encodeLong(text);
    seconds.push(secondsSince(start));
  }
  sendResult({
    peer,
    mode: 'book',
    bytes: Buffer.byteLength(text, 'utf8'),
    tokens: ids.length,
    digest: digestRows([ids]),
    loadSeconds,
    seconds,
  });
} else {
  throw new Error(`--mode must be sst2 or book, got ${args.mode}`);
}
