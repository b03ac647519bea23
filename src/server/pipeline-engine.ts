/**
 * The Engine the server runs in production: seqbatch's text-classification, feature-extraction and text-ranking
 * pipelines (and their tokenizer) behind the small interface the HTTP layer needs. The server has already formed
 * each batch, so every call hands the whole batch to the pipeline, which may still split it by its own token budget.
 * Embeddings are exactly what the feature-extraction pipeline gives for the same options (a sentence-transformers
 * folder's prompts, stripping, lower-casing and max_seq_length included), and scores what `rank` / `predict` give.
 */
import { Encoding } from '../encoding/encoding.js';
import { InputError } from '../errors.js';
import { resolveModel } from '../hub/index.js';
import { hasPackedGraph } from '../models/auto.js';
import { AutoConfig } from '../models/config.js';
import type { ModelDtype } from '../models/index.js';
import type { PackedMode } from '../runtime/packed.js';
import { DEFAULT_INTRA_OP_THREADS } from '../runtime/session.js';
import {
  pipeline,
  type FeatureExtractionPipeline,
  type PipelineOptions,
  type Pooling,
  type TextClassificationPipeline,
  type RankingInput,
  type TextRankingPipeline,
} from '../pipelines/index.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Engine, EngineInfo, EngineTask, ModelKind, Prediction, TruncationSide } from './engine.js';
import { replicatedEngine } from './replicas.js';

export interface PipelineEngineParts {
  /** Reported as `model` (OpenAI route) and by /health and /info. */
  modelId: string;
  /** Serves /classify and /predict. */
  classifier?: TextClassificationPipeline;
  /** Serves /embed, /similarity and /v1/embeddings. */
  embedder?: FeatureExtractionPipeline;
  /** A cross-encoder: serves /rerank and /predict. */
  ranker?: TextRankingPipeline;
  /**
   * Pooling for embeddings when the folder has no sentence-transformers configuration (which otherwise decides).
   * Default 'mean'.
   */
  defaultPooling?: Exclude<Pooling, 'none'>;
  /** The dtype the pipelines were loaded with (`FromPretrainedOptions.dtype`), reported by /info. */
  dtype?: ModelDtype;
}

/**
 * Token ids run as they are (TEI's token-id inputs): no special tokens added, cut to `max` from `side` (the
 * right keeps the first ids, the left the last ones).
 */
function encodingOfIds(
  ids: readonly number[],
  tokenizer: Tokenizer,
  max: number,
  side: TruncationSide,
): Encoding {
  const kept = side === 'left' ? ids.slice(Math.max(0, ids.length - max)) : ids.slice(0, max);
  const specials = new Set(tokenizer.allSpecialIds);
  return new Encoding(
    [...kept],
    kept.map(() => 0),
    kept.map((id) => tokenizer.convertIdsToTokens(id) ?? ''),
    kept.map(() => null),
    kept.map((): [number, number] => [0, 0]),
    kept.map((id) => (specials.has(id) ? 1 : 0)),
    kept.map(() => 1),
  );
}

/** The request's truncation side as a pipeline option (left out when unset: the tokenizer's own side applies). */
function sideOf(options: { truncationSide?: TruncationSide }): { truncationSide?: TruncationSide } {
  return options.truncationSide === undefined ? {} : { truncationSide: options.truncationSide };
}

export function createPipelineEngine(parts: PipelineEngineParts): Engine {
  const { classifier, embedder, ranker } = parts;
  const tokenizer: Tokenizer | undefined = classifier?.tokenizer ?? embedder?.tokenizer ?? ranker?.tokenizer;
  if (tokenizer === undefined) {
    throw new InputError('a pipeline engine needs a classifier, an embedder or a ranker', {
      argument: 'classifier',
    });
  }
  const tasks: EngineTask[] = ['tokenize'];
  if (classifier) tasks.unshift('classify');
  if (ranker) tasks.unshift('rerank');
  if (embedder) tasks.unshift('embed');
  const st = embedder?.sentenceTransformers ?? null;
  const limits = [
    embedder ? embedder.maxSeqLength : Infinity,
    classifier ? classifier.modelMaxLength : Infinity,
    ranker ? ranker.modelMaxLength : Infinity,
  ];
  // One limit for the server's 413 check: the strictest of the pipelines served.
  const maxInputLength = Math.min(...limits);
  const pooling = st === null ? (parts.defaultPooling ?? 'mean') : undefined;
  const headConfig = (classifier ?? ranker)?.model.config;
  const id2label = headConfig?.id2label;
  const kind: ModelKind = ranker
    ? ranker.model.config.numLabels === 1
      ? 'reranker'
      : 'classifier'
    : classifier
      ? 'classifier'
      : 'embedding';
  const info: EngineInfo = {
    modelId: parts.modelId,
    modelDtype: parts.dtype === 'int8' ? 'int8' : 'float32',
    maxInputLength,
    tasks,
    kind,
    embeddingDimension: embedder?.embeddingDimension,
    labels: id2label === undefined ? undefined : Object.keys(id2label).map((id) => id2label[Number(id)]!),
    ...(embedder
      ? {
          pooling: (st?.modes ?? [pooling!]).join('+'),
          prompts: { query: '', document: '', ...(st?.prompts ?? {}) },
          similarityFnName: embedder.similarityFnName,
        }
      : {}),
  };

  // What prepareText made of a text runs as it is when it fits; a longer one (the request allowed truncation) goes
  // back as text, so the pipeline truncates it.
  const reusable = (encoded: unknown): Encoding | undefined =>
    encoded instanceof Encoding && encoded.length <= maxInputLength ? encoded : undefined;

  const prepareText = (text: string, textPair?: string) => {
    const encoded = tokenizer.encode(text, textPair ?? null);
    return { tokens: encoded.length, encoded };
  };

  return {
    info,
    countTokens: (text, textPair) => prepareText(text, textPair).tokens,
    prepareText,
    prepareEmbed(text, options) {
      if (!embedder) return prepareText(text);
      const promptOptions = options.promptName === undefined ? {} : { promptName: options.promptName };
      // The text as the model sees it (prompt, stripping, lower-casing), counted whole.
      const encoded = embedder.encodeText(text, { ...promptOptions, truncate: false });
      // With a prompt the pipeline needs the text (Pooling may leave the prompt's tokens out), so only a
      // prompt-less encoding is handed back.
      return {
        tokens: encoded.length,
        encoded: embedder.promptFor(promptOptions) === null ? encoded : undefined,
      };
    },
    prepareIds(ids, options) {
      ids.forEach((id, i) => {
        if (tokenizer.convertIdsToTokens(id) === null) {
          throw new InputError(`inputs[${i}]: token id ${id} is not in the tokenizer's vocabulary`, {
            argument: 'inputs',
          });
        }
      });
      const side = options?.truncationSide ?? tokenizer.truncationSide;
      return { tokens: ids.length, encoded: encodingOfIds(ids, tokenizer, maxInputLength, side) };
    },
    async classify(items, options) {
      if (!classifier) throw new InputError('this model does not classify', { argument: 'task' });
      const results = await classifier.run(
        items.map(
          (item) =>
            reusable(item.encoded) ??
            (item.textPair === undefined ? item.text : { text: item.text, textPair: item.textPair }),
        ),
        {
          topK: null,
          truncation: true,
          maxLength: maxInputLength,
          ...sideOf(options),
          ...(options.rawScores ? { functionToApply: 'none' as const } : {}),
          batchSize: items.length,
        },
      );
      return results as Prediction[][];
    },
    async embed(texts, options, encoded) {
      if (!embedder) throw new InputError('this model does not embed', { argument: 'task' });
      // The server refused over-long inputs unless truncation was asked for, so truncating here only ever cuts
      // inputs the request allowed to be cut. An encoding handed back is the text as the pipeline would prepare
      // it (prepareEmbed) or token ids (prepareIds); otherwise the pipeline prepares the text itself.
      const inputs = texts.map((text, i) => reusable(encoded?.[i]) ?? text);
      const vectors = await embedder.run(inputs, {
        pooling,
        normalize: options.normalize,
        ...(options.promptName === undefined ? {} : { promptName: options.promptName }),
        ...(options.dimensions === undefined ? {} : { truncateDim: options.dimensions }),
        ...(st === null ? { truncation: true, maxLength: maxInputLength } : {}),
        ...sideOf(options),
        batchSize: texts.length,
      });
      return vectors as number[][];
    },
    async score(items, options) {
      if (!ranker) throw new InputError('this model is not a cross-encoder', { argument: 'task' });
      // A single text is scored alone through the classifier, as TEI's /predict scores it.
      const inputs = items.map((item): RankingInput =>
        item.textPair === undefined ? item.text : [item.text, item.textPair],
      );
      const scores = await ranker.run(inputs, {
        maxLength: maxInputLength,
        ...sideOf(options),
        ...(options.rawScores ? { activation: 'identity' } : {}),
        batchSize: items.length,
      });
      return scores.map((score) => (typeof score === 'number' ? [score] : score));
    },
    async tokenize(texts, options) {
      return texts.map((text) =>
        tokenizer.encode(text, null, { addSpecialTokens: options.addSpecialTokens }),
      );
    },
    decode(rows, options) {
      return rows.map((ids) => tokenizer.decode(ids, { skipSpecialTokens: options.skipSpecialTokens }));
    },
    async close() {
      const models = new Set<unknown>();
      for (const pipe of [classifier, embedder, ranker]) {
        if (pipe === undefined || models.has(pipe.model)) continue;
        models.add(pipe.model);
        await pipe.dispose();
      }
    },
  };
}

/** What `loadPipelineEngine` takes besides the pipelines' own options. */
export interface PipelineEngineOptions extends PipelineOptions {
  /** Pooling for embeddings when the folder has no sentence-transformers configuration. Default 'mean'. */
  defaultPooling?: Exclude<Pooling, 'none'>;
  /**
   * Copies of the model, each on a worker thread of its own, so that many batches compute side by side
   * (replicas.ts says why that pays in a server). Each copy holds its own weights. With more than one, `threads`
   * is per copy and defaults to the usual intra-op threads divided among them (at least 1). Default 1.
   */
  replicas?: number;
}

/**
 * Loads the pipelines for the given tasks from one model folder (or Hub id) and wraps them in an Engine.
 * `classify` needs a sequence-classification checkpoint; `embed` works on any encoder.
 */
export async function loadPipelineEngine(
  modelDirOrId: string,
  tasks: readonly ('classify' | 'embed' | 'rerank')[],
  options: PipelineEngineOptions = {},
): Promise<Engine> {
  if (tasks.length === 0)
    throw new InputError('tasks: name at least one of classify, embed, rerank', { argument: 'tasks' });
  const { defaultPooling, replicas = 1, ...requested } = options;
  if (!Number.isSafeInteger(replicas) || replicas < 1) {
    throw new InputError(`replicas must be a positive integer, got ${JSON.stringify(replicas)}`, {
      argument: 'replicas',
    });
  }
  // Resolved once here, so the config can be read before loading and every pipeline loads the same folder.
  const dir = await resolveModel(modelDirOrId, requested.hub);
  const pipelineOptions: PipelineOptions = {
    ...requested,
    packed: requested.packed ?? serverPackedMode(dir, requested),
    ...(replicas > 1
      ? {
          runOn: 'own-worker' as const,
          threads: requested.threads ?? Math.max(1, Math.floor(DEFAULT_INTRA_OP_THREADS / replicas)),
        }
      : {}),
  };
  const engines: Engine[] = [];
  const loaded: { dispose(): Promise<void> }[] = [];
  let tokenizer = requested.tokenizer;
  try {
    for (let i = 0; i < replicas; i++) {
      const classifier = tasks.includes('classify')
        ? await pipeline('text-classification', dir, { ...pipelineOptions, tokenizer })
        : undefined;
      if (classifier) loaded.push(classifier);
      tokenizer ??= classifier?.tokenizer;
      const embedder = tasks.includes('embed')
        ? await pipeline('feature-extraction', dir, { ...pipelineOptions, tokenizer })
        : undefined;
      if (embedder) loaded.push(embedder);
      tokenizer ??= embedder?.tokenizer;
      const ranker = tasks.includes('rerank')
        ? await pipeline('text-ranking', dir, { ...pipelineOptions, tokenizer })
        : undefined;
      if (ranker) loaded.push(ranker);
      tokenizer ??= ranker?.tokenizer;
      engines.push(
        createPipelineEngine({
          modelId: modelDirOrId,
          classifier,
          embedder,
          ranker,
          defaultPooling,
          dtype: requested.dtype,
        }),
      );
    }
  } catch (error) {
    // A pipeline that failed to load (out of memory, most likely) must not leave the ones before it holding
    // their sessions.
    for (const pipe of loaded) await pipe.dispose();
    throw error;
  }
  return replicas === 1 ? engines[0]! : replicatedEngine(engines);
}

/**
 * The server's default `packed`: every batch on the packed graph when the model has one. A server's batches hold
 * whatever arrived together, so most carry padding, and with 64 concurrent clients on the DistilBERT-base-shaped
 * checkpoint packing everything served 63.7–67.4 texts/s against 60.1–63.7 for 'auto' (3 alternating runs each,
 * docs/server.md). Models without a packed graph (Longformer) get 'auto', which runs them padded.
 */
function serverPackedMode(dir: string, options: PipelineOptions): PackedMode {
  return hasPackedGraph(AutoConfig.fromPretrained(dir), options) ? true : 'auto';
}
