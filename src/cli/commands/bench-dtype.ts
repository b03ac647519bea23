/**
 * `seqbatch bench --dtype int8`: the int8 model against the fp32 one on the same texts, in one run. Labels: how
 * often int8 picks fp32's label, accuracy of each on the dataset's labels (`--label-column`), max and mean |Δ| of
 * the logits. Embeddings: the cosine between each text's int8 and fp32 vectors (min, mean). Kept apart from
 * bench.ts so the arithmetic can be tested on its own.
 */
import { argmax } from '../../pipelines/math.js';

export interface LabelComparison {
  texts: number;
  /** Share of texts whose int8 label equals the fp32 label. */
  agreement: number;
  /** Share of texts labelled as the dataset says, when labels were given. */
  accuracyFp32?: number;
  accuracyInt8?: number;
  maxAbsLogitDelta: number;
  meanAbsLogitDelta: number;
}

export interface EmbeddingComparison {
  texts: number;
  minCosine: number;
  meanCosine: number;
}

/**
 * Compares the logits of the same texts. A dataset label is a class index (`0`, `1`) or a label name from
 * `id2label` (`POSITIVE`); texts whose label is empty are left out of the accuracies.
 */
export function compareLabels(
  fp32: readonly (readonly number[])[],
  int8: readonly (readonly number[])[],
  id2label: Readonly<Record<number, string>>,
  labels?: readonly string[],
): LabelComparison {
  if (fp32.length !== int8.length)
    throw new RangeError('compareLabels: the runs hold different numbers of texts');
  let [agree, maxDelta, sumDelta, count] = [0, 0, 0, 0];
  let [labelled, rightFp32, rightInt8] = [0, 0, 0];
  const isLabel = (index: number, label: string): boolean =>
    /^\d+$/.test(label) ? Number(label) === index : id2label[index] === label;
  for (let t = 0; t < fp32.length; t++) {
    const [a, b] = [fp32[t]!, int8[t]!];
    const [labelA, labelB] = [argmax(a), argmax(b)];
    if (labelA === labelB) agree++;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i]! - b[i]!);
      maxDelta = Math.max(maxDelta, d);
      sumDelta += d;
      count++;
    }
    const label = labels?.[t]?.trim();
    if (label) {
      labelled++;
      if (isLabel(labelA, label)) rightFp32++;
      if (isLabel(labelB, label)) rightInt8++;
    }
  }
  return {
    texts: fp32.length,
    agreement: agree / Math.max(fp32.length, 1),
    ...(labelled > 0 ? { accuracyFp32: rightFp32 / labelled, accuracyInt8: rightInt8 / labelled } : {}),
    maxAbsLogitDelta: maxDelta,
    meanAbsLogitDelta: sumDelta / Math.max(count, 1),
  };
}

/** Cosine between each text's two vectors. */
export function compareEmbeddings(
  fp32: readonly (readonly number[])[],
  int8: readonly (readonly number[])[],
): EmbeddingComparison {
  if (fp32.length !== int8.length)
    throw new RangeError('compareEmbeddings: the runs hold different numbers of texts');
  let [min, sum] = [Infinity, 0];
  for (let t = 0; t < fp32.length; t++) {
    const [a, b] = [fp32[t]!, int8[t]!];
    let [dot, na, nb] = [0, 0, 0];
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    const cosine = na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb);
    min = Math.min(min, cosine);
    sum += cosine;
  }
  return { texts: fp32.length, minCosine: fp32.length ? min : 1, meanCosine: sum / Math.max(fp32.length, 1) };
}

const percent = (share: number): string => `${(100 * share).toFixed(2)}%`;

/** The comparison as the lines `seqbatch bench` prints under its throughput table. */
export function formatComparison(comparison: LabelComparison | EmbeddingComparison): string {
  if ('minCosine' in comparison) {
    return (
      `int8 against fp32 on ${comparison.texts} texts: embeddings cosine min ${comparison.minCosine.toFixed(5)}, ` +
      `mean ${comparison.meanCosine.toFixed(5)}\n`
    );
  }
  const accuracy =
    comparison.accuracyFp32 === undefined
      ? ''
      : `; accuracy on the dataset labels: fp32 ${percent(comparison.accuracyFp32)}, int8 ${percent(
          comparison.accuracyInt8!,
        )}`;
  return (
    `int8 against fp32 on ${comparison.texts} texts: labels agree on ${percent(comparison.agreement)}${accuracy}; ` +
    `|Δlogit| max ${comparison.maxAbsLogitDelta.toFixed(4)}, mean ${comparison.meanAbsLogitDelta.toFixed(4)}\n`
  );
}
