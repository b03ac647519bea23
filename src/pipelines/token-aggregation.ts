/**
 * transformers' TokenClassificationPipeline post-processing as pure functions over per-token scores: gather the
 * non-special tokens (deciding which are subwords), then 'none' (one entity per token), 'simple' (group
 * neighbouring tokens by B-/I- tag), or 'first' / 'average' / 'max' (first merge subwords into words, then group).
 * Offsets are [start, end) in UTF-16 code units of the text.
 */
import { argmax } from './math.js';

export type AggregationStrategy = 'none' | 'simple' | 'first' | 'average' | 'max';

/** What the model predicted for one token of one text. */
export interface TokenPrediction {
  /** Probabilities over the labels (softmax of the logits). */
  scores: readonly number[];
  /** The token string (e.g. "##ing"). */
  token: string;
  id: number;
  offset: readonly [number, number];
  special: boolean;
}

export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start: number;
  end: number;
}

export interface EntityGroup {
  entity_group: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

export interface AggregationContext {
  text: string;
  id2label: Readonly<Record<number, string>>;
  /**
   * Whether the tokenizer's model has a continuing-subword prefix (WordPiece "##"): then a token is a subword
   * when its string differs in length from its text; otherwise Python's heuristic (no space before it) decides.
   */
  subwordPrefixAware: boolean;
  unkId: number | null;
  /** The tokenizer decoder's `convert_tokens_to_string`. */
  tokensToString(tokens: string[]): string;
}

interface PreEntity {
  word: string;
  scores: readonly number[];
  start: number;
  end: number;
  index: number;
  isSubword: boolean;
}

const codePointLength = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function gatherPreEntities(tokens: readonly TokenPrediction[], context: AggregationContext): PreEntity[] {
  const { text } = context;
  const out: PreEntity[] = [];
  tokens.forEach((token, index) => {
    if (token.special) return;
    const [start, end] = token.offset;
    let word = token.token;
    const wordRef = text.slice(start, end);
    let isSubword = context.subwordPrefixAware
      ? codePointLength(word) !== codePointLength(wordRef)
      : start > 0 && !text.slice(start - 1, start + 1).includes(' ');
    if (context.unkId !== null && token.id === context.unkId) {
      word = wordRef;
      isSubword = false;
    }
    out.push({ word, scores: token.scores, start, end, index, isSubword });
  });
  return out;
}

interface WordEntity {
  entity: string;
  score: number;
  word: string;
  start: number;
  end: number;
  index?: number;
}

function aggregateWord(
  group: PreEntity[],
  strategy: AggregationStrategy,
  context: AggregationContext,
): WordEntity {
  const word = context.tokensToString(group.map((e) => e.word));
  let scores: readonly number[];
  if (strategy === 'first') scores = group[0].scores;
  else if (strategy === 'max') {
    // The token whose best score is highest (the first one on ties, as Python's max()).
    let best = group[0];
    for (const e of group) if (Math.max(...e.scores) > Math.max(...best.scores)) best = e;
    scores = best.scores;
  } else {
    scores = group[0].scores.map((_, j) => group.reduce((sum, e) => sum + e.scores[j], 0) / group.length);
  }
  const idx = argmax(scores);
  return {
    entity: context.id2label[idx] ?? `LABEL_${idx}`,
    score: scores[idx],
    word,
    start: group[0].start,
    end: group[group.length - 1].end,
  };
}

function getTag(entity: string): [string, string] {
  if (entity.startsWith('B-')) return ['B', entity.slice(2)];
  if (entity.startsWith('I-')) return ['I', entity.slice(2)];
  // Not in B-/I- form: treated as a continuation, as Python does.
  return ['I', entity];
}

function groupSubEntities(entities: WordEntity[], context: AggregationContext): EntityGroup {
  const first = entities[0].entity;
  const dash = first.indexOf('-');
  return {
    entity_group: dash >= 0 ? first.slice(dash + 1) : first,
    score: entities.reduce((sum, e) => sum + e.score, 0) / entities.length,
    word: context.tokensToString(entities.map((e) => e.word)),
    start: entities[0].start,
    end: entities[entities.length - 1].end,
  };
}

function groupEntities(entities: WordEntity[], context: AggregationContext): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let current: WordEntity[] = [];
  for (const entity of entities) {
    if (current.length === 0) {
      current.push(entity);
      continue;
    }
    const [bi, tag] = getTag(entity.entity);
    const [, lastTag] = getTag(current[current.length - 1].entity);
    if (tag === lastTag && bi !== 'B') current.push(entity);
    else {
      groups.push(groupSubEntities(current, context));
      current = [entity];
    }
  }
  if (current.length > 0) groups.push(groupSubEntities(current, context));
  return groups;
}

/** Python's `gather_pre_entities` + `aggregate` + the `ignore_labels` filter for one text. */
export function aggregateTokens(
  tokens: readonly TokenPrediction[],
  strategy: AggregationStrategy,
  context: AggregationContext,
  ignoreLabels: readonly string[] = ['O'],
): TokenEntity[] | EntityGroup[] {
  const pre = gatherPreEntities(tokens, context);
  let entities: WordEntity[];
  if (strategy === 'none' || strategy === 'simple') {
    entities = pre.map((e) => {
      const idx = argmax(e.scores);
      return {
        entity: context.id2label[idx] ?? `LABEL_${idx}`,
        score: e.scores[idx],
        index: e.index,
        word: e.word,
        start: e.start,
        end: e.end,
      };
    });
  } else {
    entities = [];
    let group: PreEntity[] | null = null;
    for (const e of pre) {
      if (group === null) group = [e];
      else if (e.isSubword) group.push(e);
      else {
        entities.push(aggregateWord(group, strategy, context));
        group = [e];
      }
    }
    if (group !== null) entities.push(aggregateWord(group, strategy, context));
  }
  if (strategy === 'none') {
    return entities
      .filter((e) => !ignoreLabels.includes(e.entity))
      .map((e) => ({
        entity: e.entity,
        score: e.score,
        index: e.index as number,
        word: e.word,
        start: e.start,
        end: e.end,
      }));
  }
  return groupEntities(entities, context).filter((g) => !ignoreLabels.includes(g.entity_group));
}

/**
 * Entities of overlapping windows of one text (Python's `aggregate_overlapping_entities`): sorted by start, an
 * entity starting inside the previous one replaces it when it is longer, or as long with a higher score.
 */
export function mergeOverlappingEntities<E extends { start: number; end: number; score: number }>(
  entities: readonly E[],
): E[] {
  if (entities.length === 0) return [];
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  const merged: E[] = [];
  let previous = sorted[0];
  for (const entity of sorted) {
    if (previous.start <= entity.start && entity.start < previous.end) {
      const length = entity.end - entity.start;
      const previousLength = previous.end - previous.start;
      if (length > previousLength || (length === previousLength && entity.score > previous.score))
        previous = entity;
    } else {
      merged.push(previous);
      previous = entity;
    }
  }
  merged.push(previous);
  return merged;
}
