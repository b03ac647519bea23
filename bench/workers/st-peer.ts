/**
 * One embedding or reranking peer, timed in its own process (spawned by bench/st-embed.ts):
 *   --peer P --checkpoint DIR --base-export DIR --seqcls-export DIR [--limit N] [--passes 1] [--threads 2]
 * seqbatch-embed:        pipeline('feature-extraction') (mean pooling + normalisation) on the whole array.
 * transformersjs-embed:  transformers.js' feature-extraction pipeline ({ pooling: 'mean', normalize: true }) on
 *                        consecutive chunks of 32 (sentence-transformers' default batch size).
 * seqbatch-rerank:       pipeline('text-ranking').rank(query, documents) on the whole list.
 * transformersjs-rerank: transformers.js' AutoTokenizer (text pairs, padding, truncation) and
 *                        AutoModelForSequenceClassification on chunks of 32, sigmoid on the logits: the usage its
 *                        cross-encoder model cards show, since it has no rerank pipeline.
 * server-embed:          seqbatch's HTTP server (the production engine, loadPipelineEngine, default server
 *                        options) in this process, sent one text per `POST /embed` by a client in the same process
 *                        (fetch), 64 requests in flight: what concurrent clients of one server see.
 * server-rerank:         the same server with the rerank task, sent the documents as `POST /rerank` requests of 32
 *                        documents each (one query), all in flight at once.
 * Each reports per-pass wall time and a digest of its outputs (the first 8 values of each vector, or the scores)
 * so the parent can compare the peers.
 */
import { pipeline } from '../../src/pipelines/index.js';
import { createServer } from '../../src/server/index.js';
import { loadPipelineEngine } from '../../src/server/pipeline-engine.js';
import { readSst2Sentences } from '../lib/data.js';
import { ST_PEERS, type StPeer } from '../lib/st-peers.js';
import { secondsSince, sendResult, workerArgs } from '../lib/worker.js';

const args = workerArgs({
  peer: { type: 'string' },
  checkpoint: { type: 'string' },
  'base-export': { type: 'string' },
  'seqcls-export': { type: 'string' },
  limit: { type: 'string' },
  passes: { type: 'string', default: '1' },
  threads: { type: 'string', default: '2' },
});
const peer = args.peer as StPeer;
if (!ST_PEERS.includes(peer)) throw new Error(`--peer must be one of ${ST_PEERS.join(', ')}`);
const threads = Number(args.threads);
const all = readSst2Sentences('dev');
const texts = args.limit ? all.slice(0, Number(args.limit)) : all;
/** The query every document is ranked against: a dev sentence of middling length. */
const RERANK_QUERY = 'a gorgeous , witty , seductive movie .';
const CHUNK = 32;

type Work = () => Promise<number[][]>;

async function seqbatchEmbed(): Promise<Work> {
  const pipe = await pipeline('feature-extraction', args.checkpoint!, { threads, cacheDir: false });
  return async () => (await pipe.run(texts, { pooling: 'mean', normalize: true })) as number[][];
}

async function seqbatchRerank(): Promise<Work> {
  const pipe = await pipeline('text-ranking', args.checkpoint!, { threads, cacheDir: false });
  return async () => {
    const ranked = await pipe.rank(RERANK_QUERY, texts, { truncation: 'longest_first' });
    const scores = new Array<number>(texts.length);
    for (const r of ranked) scores[r.index] = r.score;
    return [scores];
  };
}

/** Runs `count` jobs with at most `limit` in flight; resolves when all are done. */
async function inFlight(count: number, limit: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
}

/** The production engine for one task behind seqbatch's server on a free loopback port. */
async function startServer(task: 'embed' | 'rerank') {
  const engine = await loadPipelineEngine(args.checkpoint!, [task], { threads, cacheDir: false });
  const server = createServer({ engine });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  const post = async (route: string, body: object): Promise<unknown> => {
    const response = await fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 200) throw new Error(`${route}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  return post;
}

async function serverEmbed(): Promise<Work> {
  const post = await startServer('embed');
  return async () => {
    const out = new Array<number[]>(texts.length);
    await inFlight(texts.length, 64, async (i) => {
      const [vector] = (await post('/embed', { inputs: texts[i], truncate: true })) as number[][];
      out[i] = vector!;
    });
    return out;
  };
}

async function serverRerank(): Promise<Work> {
  const post = await startServer('rerank');
  return async () => {
    const scores = new Array<number>(texts.length);
    await inFlight(Math.ceil(texts.length / CHUNK), 64, async (r) => {
      const start = r * CHUNK;
      const ranked = (await post('/rerank', {
        query: RERANK_QUERY,
        texts: texts.slice(start, start + CHUNK),
        truncate: true,
      })) as { index: number; score: number }[];
      for (const { index, score } of ranked) scores[start + index] = score;
    });
    return [scores];
  };
}

const sessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1 };

async function transformersJsEmbed(): Promise<Work> {
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  const extract = await hf.pipeline('feature-extraction', args['base-export']!, {
    dtype: 'fp32',
    device: 'cpu',
    session_options: sessionOptions,
  });
  return async () => {
    const out: number[][] = [];
    for (let start = 0; start < texts.length; start += CHUNK) {
      const tensor = await extract(texts.slice(start, start + CHUNK), { pooling: 'mean', normalize: true });
      out.push(...(tensor.tolist() as number[][]));
    }
    return out;
  };
}

async function transformersJsRerank(): Promise<Work> {
  const hf = await import('@huggingface/transformers');
  hf.env.allowRemoteModels = false;
  const tokenizer = await hf.AutoTokenizer.from_pretrained(args['seqcls-export']!);
  const model = await hf.AutoModelForSequenceClassification.from_pretrained(args['seqcls-export']!, {
    dtype: 'fp32',
    device: 'cpu',
    session_options: sessionOptions,
  });
  return async () => {
    const scores: number[] = [];
    for (let start = 0; start < texts.length; start += CHUNK) {
      const docs = texts.slice(start, start + CHUNK);
      const inputs = tokenizer(new Array<string>(docs.length).fill(RERANK_QUERY), {
        text_pair: docs,
        padding: true,
        truncation: true,
      });
      const { logits } = await model(inputs);
      scores.push(...(logits.sigmoid().tolist() as number[][]).map((row) => row[0]!));
    }
    return [scores];
  };
}

const load = {
  'seqbatch-embed': seqbatchEmbed,
  'transformersjs-embed': transformersJsEmbed,
  'seqbatch-rerank': seqbatchRerank,
  'transformersjs-rerank': transformersJsRerank,
  'server-embed': serverEmbed,
  'server-rerank': serverRerank,
}[peer];
const work = await load();
await work(); // warm-up (graph optimisation, first allocations), not timed
const seconds: number[] = [];
let outputs: number[][] = [];
for (let pass = 0; pass < Number(args.passes); pass++) {
  const started = performance.now();
  outputs = await work();
  seconds.push(secondsSince(started));
}
sendResult({
  peer,
  items: texts.length,
  seconds,
  digest: peer.endsWith('rerank') ? outputs[0] : outputs.map((v) => v.slice(0, 8)),
});
