/**
 * The Engine the server runs in production: seqbatch's text-classification and feature-extraction pipelines (and
 * their tokenizer) behind the small interface the HTTP layer needs. The server has already formed each batch, so
 * every call hands the whole batch to the pipeline, which may still split it by its own token budget.
 */
import { Encoding } from '../encoding/encoding.js';
import { InputError } from '../errors.js';
import { resolveModel } from '../hub/index.js';
import { hasPackedGraph } from '../models/auto.js';
import { AutoConfig } from '../models/config.js';
import type { PackedMode } from '../runtime/packed.js';
import { DEFAULT_INTRA_OP_THREADS } from '../runtime/session.js';
import {
  pipeline,
  type FeatureExtractionPipeline,
  type PipelineOptions,
  type Pooling,
  type TextClassificationPipeline,
} from '../pipelines/index.js';
import type { Tokenizer } from '../tokenizers/tokenizer.js';
import type { Engine, EngineInfo, EngineTask, Prediction } from './engine.js';
import { replicatedEngine } from './replicas.js';

export interface PipelineEngineParts {
  /** Reported as `model` (OpenAI route) and by /health. */
  modelId: string;
  /** Serves /classify. */
  classifier?: TextClassificationPipeline;
  /** Serves /embed and /v1/embeddings. */
  embedder?: FeatureExtractionPipeline;
  /**
   * Pooling for embeddings when the folder has no sentence-transformers configuration (which otherwise decides).
   * Default 'mean'.
   */
  defaultPooling?: Exclude<Pooling, 'none'>;
}

export function createPipelineEngine(parts: PipelineEngineParts): Engine {
  const { classifier, embedder } = parts;
  const tokenizer: Tokenizer | undefined = classifier?.tokenizer ?? embedder?.tokenizer;
  if (tokenizer === undefined) {
    throw new InputError('a pipeline engine needs a classifier or an embedder', { argument: 'classifier' });
  }
  const tasks: EngineTask[] = ['tokenize'];
  if (classifier) tasks.unshift('classify');
  if (embedder) tasks.unshift('embed');
  const st = embedder?.sentenceTransformers ?? null;
  const embedLimit = embedder ? embedder.maxSeqLength : Infinity;
  const classifyLimit = classifier ? classifier.modelMaxLength : Infinity;
  // One limit for the server's 413 check: the strictest of the pipelines served.
  const maxInputLength = Math.min(embedLimit, classifyLimit);
  const pooling = st === null ? (parts.defaultPooling ?? 'mean') : undefined;
  const id2label = classifier?.model.config.id2label;
  const info: EngineInfo = {
    modelId: parts.modelId,
    maxInputLength,
    tasks,
    embeddingDimension: embedder?.embeddingDimension,
    labels: id2label === undefined ? undefined : Object.keys(id2label).map((id) => id2label[Number(id)]!),
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
          ...(options.rawScores ? { functionToApply: 'none' as const } : {}),
          batchSize: items.length,
        },
      );
      return results as Prediction[][];
    },
    async embed(texts, options, encoded) {
      if (!embedder) throw new InputError('this model does not embed', { argument: 'task' });
      // The server refused over-long inputs unless truncation was asked for, so truncating here only ever cuts
      // inputs the request allowed to be cut.
      // A sentence-transformers folder prepares its texts itself (prompt, stripping, lower-casing), so it gets
      // the text rather than the plain tokenizer's Encoding.
      const inputs = texts.map((text, i) => (st === null ? reusable(encoded?.[i]) : undefined) ?? text);
      const vectors = await embedder.run(inputs, {
        pooling,
        normalize: options.normalize,
        truncation: true,
        maxLength: maxInputLength,
        batchSize: texts.length,
      });
      return vectors as number[][];
    },
    async tokenize(texts, options) {
      return texts.map((text) =>
        tokenizer.encode(text, null, { addSpecialTokens: options.addSpecialTokens }),
      );
    },
    async close() {
      await classifier?.dispose();
      if (embedder && embedder.model !== classifier?.model) await embedder.dispose();
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
  tasks: readonly ('classify' | 'embed')[],
  options: PipelineEngineOptions = {},
): Promise<Engine> {
  if (tasks.length === 0)
    throw new InputError('tasks: name at least one of classify, embed', { argument: 'tasks' });
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
      engines.push(createPipelineEngine({ modelId: modelDirOrId, classifier, embedder, defaultPooling }));
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
