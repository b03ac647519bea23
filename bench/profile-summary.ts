/**
 * Top functions of a V8 CPU profile by self time (and total time of seqbatch's own functions), to read the hot
 * spots of a `--profile` run without a browser:
 *
 *   npx tsx bench/profile-summary.ts bench/out/profiles/tokenizers-sst2/<file>.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { markdownTable, percent } from './lib/stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
if (positionals.length !== 1) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
const profile = JSON.parse(readFileSync(positionals[0], 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);

const label = (n: ProfileNode) => {
  const { functionName, url, lineNumber } = n.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*\/(src|bench|node_modules)\//, '$1/');
  return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
};

// Self time per function (merged over call sites); inclusive time counted once per sample per function.
const selfByLabel = new Map<string, number>();
const inclusiveByLabel = new Map<string, number>();
for (const [id, time] of self) {
  const node = byId.get(id)!;
  selfByLabel.set(label(node), (selfByLabel.get(label(node)) ?? 0) + time);
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const l = label(byId.get(at)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusiveByLabel.set(l, (inclusiveByLabel.get(l) ?? 0) + time);
  }
}
const top = Number(values.top);
const rows = (map: Map<string, number>, filter: (l: string) => boolean) =>
  [...map]
    .filter(([l]) => filter(l))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([l, t]) => [l, `${(t / 1000).toFixed(0)} ms`, percent(t / total, 1)]);
process.stdout.write(
  `Profile ${positionals[0]}: ${(total / 1e6).toFixed(2)} s sampled\n\nSelf time:\n\n` +
    markdownTable(
      ['function', 'self', 'share'],
      rows(selfByLabel, () => true),
    ) +
    `\n\nInclusive time, seqbatch functions (src/):\n\n` +
    markdownTable(
      ['function', 'total', 'share'],
      rows(inclusiveByLabel, (l) => l.includes('src/')),
    ) +
    '\n',
);
