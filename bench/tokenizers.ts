/**
 * Tokenizer throughput, seqbatch against its peers (issue 2), one command:
 *
 *   npx tsx bench/tokenizers.ts [--rounds 3] [--passes 1] [--limit N] [--book FILE] [--profile] [--no-check]
 *
 * 1. SST-2 train (67,349 sentences), consecutive batches of 32 padded to their longest row, one process per peer:
 *    texts/s and MB/s of UTF-8 input. Every peer returns padded ids + attention masks as JS arrays.
 * 2. One ~3 MB book (War and Peace by default) as ONE text, no truncation: MB/s.
 * Peers: seqbatch `Tokenizer`, the `tokenizers` Rust binding (its encodeBatch runs on a rayon pool: shown with
 * the default pool and with RAYON_NUM_THREADS=1), `@huggingface/tokenizers`. Each run is a fresh process;
 * rounds are interleaved and the median is reported. An untimed check compares every row's ids with the Rust
 * binding's. `--profile` writes a V8 CPU profile of each seqbatch run to bench/out/profiles/.
 * Workers run tsc-compiled JavaScript (bench/lib/build.ts); --tsx runs the TypeScript sources instead.
 * Prints Markdown; writes bench/out/tokenizers.json.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runWorker } from './lib/child.js';
import { OUT_DIR, sharedPath } from './lib/data.js';
import { prepareWorkers } from './lib/build.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { runRounds, type Variant } from './lib/rounds.js';
import { markdownTable, median, ratio, sig } from './lib/stats.js';
import { PEER_LABELS, TOKENIZER_PEERS, type TokenizerPeer } from './lib/tokenizer-peers.js';

const { values: opts } = parseArgs({
  options: {
    tsx: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
    passes: { type: 'string', default: '1' },
    limit: { type: 'string' },
    book: { type: 'string' },
    tokenizer: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-check': { type: 'boolean', default: false },
  },
});
const rounds = Number(opts.rounds);
const tokenizerDir = opts.tokenizer ?? sharedPath('tokenizers', 'bert-base-uncased');
const book = opts.book ?? sharedPath('datasets', 'gutenberg', 'war-and-peace_2600-0.txt');
const machine = machineInfo(['tokenizers', '@huggingface/tokenizers', 'tsx']);
log(machineMarkdown(machine));
prepareWorkers(opts.tsx!);

interface PeerResult {
  peer: TokenizerPeer;
  seconds: number[];
  bytes: number;
  texts?: number;
  tokens?: number;
  realTokens?: number;
  paddedTokens?: number;
  digest: number;
  loadSeconds: number;
  peakRssMiB: number;
}

function variants(mode: 'sst2' | 'book'): Variant[] {
  const common = ['--mode', mode, '--passes', opts.passes!, '--tokenizer', tokenizerDir, '--book', book];
  if (opts.limit) common.push('--limit', opts.limit);
  const list: Variant[] = [];
  for (const peer of TOKENIZER_PEERS) {
    const profile = peer === 'seqbatch' && opts.profile;
    list.push({
      name: peer,
      run: {
        worker: 'tokenizers-peer.ts',
        args: ['--peer', peer, ...common],
        nodeFlags: profile
          ? ['--cpu-prof', '--cpu-prof-dir', join(OUT_DIR, 'profiles', `tokenizers-${mode}`)]
          : [],
      },
    });
    // The binding's encodeBatch fans out over a rayon pool; one thread shows the per-core speed.
    if (peer === 'tokenizers-rust' && mode === 'sst2') {
      list.push({
        name: 'tokenizers-rust-1thread',
        run: {
          worker: 'tokenizers-peer.ts',
          args: ['--peer', peer, ...common],
          env: { RAYON_NUM_THREADS: '1' },
        },
      });
    }
  }
  return list;
}

const LABELS: Record<string, string> = {
  ...PEER_LABELS,
  'tokenizers-rust-1thread': '`tokenizers` (Rust binding), RAYON_NUM_THREADS=1',
};

function summarise(results: Map<string, PeerResult[]>) {
  const rows = [...results].map(([name, runs]) => {
    const seconds = median(runs.flatMap((r) => r.seconds));
    const first = runs[0];
    return {
      name,
      label: LABELS[name] ?? name,
      seconds,
      textsPerSecond: first.texts ? first.texts / seconds : undefined,
      mbPerSecond: first.bytes / 1e6 / seconds,
      texts: first.texts,
      tokens: first.tokens ?? first.realTokens,
      digestsAgree: new Set(runs.map((r) => r.digest)).size === 1,
      digest: first.digest,
      loadSeconds: median(runs.map((r) => r.loadSeconds)),
      peakRssMiB: median(runs.map((r) => r.peakRssMiB)),
      samples: runs.flatMap((r) => r.seconds),
    };
  });
  return rows;
}

log(`SST-2 train, batches of 32 padded to the longest: ${rounds} rounds`);
const sst2 = summarise(await runRounds<PeerResult>(variants('sst2'), rounds));
log(`book as one text (${book}): ${rounds} rounds`);
const bookRows = summarise(await runRounds<PeerResult>(variants('book'), rounds));

let check: unknown = null;
if (!opts['no-check']) {
  log('exactness check (untimed)');
  const args = ['--tokenizer', tokenizerDir, '--book', book];
  if (opts.limit) args.push('--limit', opts.limit);
  check = await runWorker({ worker: 'tokenizers-check.ts', args });
}

const ours = (rows: ReturnType<typeof summarise>) => rows.find((r) => r.name === 'seqbatch')!;
const sst2Ours = ours(sst2);
const bookOurs = ours(bookRows);
const sst2Table = markdownTable(
  ['tokenizer', 'texts/s', 'MB/s', 'seqbatch ÷ this', 'load (s)', 'peak RSS (MiB)'],
  sst2.map((r) => [
    r.label,
    sig(r.textsPerSecond ?? NaN),
    sig(r.mbPerSecond),
    r.name === 'seqbatch' ? '—' : ratio(r.seconds, sst2Ours.seconds),
    sig(r.loadSeconds),
    sig(r.peakRssMiB),
  ]),
);
const bookTable = markdownTable(
  ['tokenizer', 'MB/s', 'tokens', 'seqbatch ÷ this', 'peak RSS (MiB)'],
  bookRows.map((r) => [
    r.label,
    sig(r.mbPerSecond),
    String(r.tokens),
    r.name === 'seqbatch' ? '—' : ratio(r.seconds, bookOurs.seconds),
    sig(r.peakRssMiB),
  ]),
);

interface CheckResult {
  reference: string;
  texts: number;
  checks: Record<string, { rows: number; mismatchedRows: number; bookTokens: number; bookMismatch: boolean }>;
}
const checkTable =
  check === null
    ? '(exactness check skipped: --no-check)'
    : markdownTable(
        [
          'tokenizer',
          'SST-2 rows',
          'rows differing from the Rust binding',
          'book tokens',
          'book ids identical',
        ],
        Object.entries((check as CheckResult).checks).map(([peer, c]) => [
          LABELS[peer] ?? peer,
          String(c.rows),
          String(c.mismatchedRows),
          String(c.bookTokens),
          c.bookMismatch ? 'no' : 'yes',
        ]),
      );
const digestNote = (rows: ReturnType<typeof summarise>) =>
  rows.every((r) => r.digest === rows[0].digest && r.digestsAgree)
    ? 'all peers produced the same ids digest in every timed run'
    : `ids digests differ between timed runs: ${rows.map((r) => `${r.name}=${r.digest.toString(16)}`).join(', ')}`;

const sampleCount = sst2Ours.samples.length;
const report = [
  `## Tokenizers (bench/tokenizers.ts)`,
  '',
  machineMarkdown(machine),
  '',
  `SST-2 train, ${sst2Ours.texts} sentences ` +
    `in consecutive batches of 32, padded to the longest row (ids + attention mask as JS arrays); median of ` +
    `${sampleCount} timed passes, each peer in a fresh process per round, rounds interleaved. Target: ≥ 120,000 ` +
    `texts/s and ≥ 2.9× the Rust binding.`,
  '',
  sst2Table,
  '',
  `Book: ${book.split('/').pop()} as one text (no truncation, special tokens added).`,
  '',
  bookTable,
  '',
  `Exactness (untimed, reference: the Rust binding): ${digestNote(sst2)}; book: ${digestNote(bookRows)}.`,
  '',
  checkTable,
  '',
].join('\n');
process.stdout.write(report);
const path = writeJsonResult('tokenizers', { machine, options: opts, sst2, book: bookRows, check });
log(`wrote ${path}`);
