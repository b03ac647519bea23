/**
 * One very long text through `seqbatch classify --long-inputs sliding-window` (issue 15 item 6): peak RSS and
 * wall time of the whole process for lines of 1, 5 and 10 MB, beside a short line, optionally against an earlier
 * commit's sources in the same run:
 *
 *   npx tsx bench/long-input.ts [--sizes 1,5,10] [--baseline REV] [--model DIR]
 *
 * The lines are the Gutenberg books of ../shared (whitespace folded, repeated). The model defaults to a 1-layer,
 * 8-wide DistilBERT with the demo model's vocabulary and tokenizer (written to .cache/bench/long-input-model), so
 * the numbers are those of tokenising and windowing, not of the encoder; `--model` takes any checkpoint folder.
 * `--baseline REV` extracts that commit's `src/` (git archive) and runs it the same way. Each process reports its
 * own peak RSS (`process.resourceUsage().maxRSS`, through an --import preload). Prints Markdown; writes
 * bench/out/long-input.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRandomCheckpoint } from '../scripts/make-random-checkpoint.js';
import { REPO_ROOT } from './lib/child.js';
import { bookLine, peakRssMb, TINY_DEMO_SHAPE, writePeakRssPreload } from './lib/long-line.js';
import { machineInfo, machineMarkdown } from './lib/machine.js';
import { log, writeJsonResult } from './lib/output.js';
import { markdownTable, sig } from './lib/stats.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1,5,10' },
    baseline: { type: 'string' },
    model: { type: 'string' },
  },
});

const REPO = REPO_ROOT;
const SHARED = process.env.SEQBATCH_SHARED ?? join(REPO, '..', 'shared');
const WORK = mkdtempSync(join(tmpdir(), 'seqbatch-bench-long-input-'));

/** A tree with `src/` to run: this checkout, or an earlier commit's sources beside links to node_modules. */
function sourceTree(rev: string | undefined): string {
  if (rev === undefined) return REPO;
  const dir = join(WORK, `src-${rev}`);
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['-C', REPO, 'archive', rev, 'src'], { maxBuffer: 1 << 30 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  writeFileSync(join(dir, 'package.json'), '{"name":"seqbatch","type":"module"}\n');
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'), 'dir');
  symlinkSync(join(REPO, 'models'), join(dir, 'models'), 'dir');
  return dir;
}

interface Run {
  tree: string;
  sizeMb: number;
  peakMb: number;
  seconds: number;
  code: number | null;
}

async function classify(tree: string, model: string, input: string): Promise<Omit<Run, 'tree' | 'sizeMb'>> {
  const entry = join(WORK, `entry-${Buffer.from(tree).toString('hex').slice(-16)}.mjs`);
  writeFileSync(
    entry,
    `import { main } from ${JSON.stringify(pathToFileURL(join(tree, 'src', 'cli', 'main.ts')).href)};\n` +
      `await main(['node', 'seqbatch', ...process.argv.slice(2)]);\n`,
  );
  const preload = join(WORK, 'peak-rss.mjs');
  writePeakRssPreload(preload);
  const args = ['--import', 'tsx', '--import', pathToFileURL(preload).href, entry, 'classify'];
  args.push('--model', model, '-i', input, '--long-inputs', 'sliding-window', '--no-progress');
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, SEQBATCH_CACHE: join(WORK, 'cache') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  if (code !== 0) log(`exit ${code}: ${stderr.slice(0, 500)}`);
  return { peakMb: peakRssMb(stderr), seconds: (performance.now() - started) / 1000, code };
}

const machine = machineInfo(['onnxruntime-node']);
let model = opts.model;
if (model === undefined) {
  model = join(REPO, '.cache', 'bench', 'long-input-model');
  if (!existsSync(join(model, 'config.json'))) {
    const referenceDir = join(SHARED, 'models', 'seqbatch-demo-sst2');
    await makeRandomCheckpoint(model, { ...TINY_DEMO_SHAPE, referenceDir });
  }
}
const sizes = [0, ...opts.sizes.split(',').map(Number)];
const trees: [string, string][] = [['this checkout', REPO]];
if (opts.baseline !== undefined) trees.unshift([opts.baseline, sourceTree(opts.baseline)]);
const runs: Run[] = [];
try {
  for (const sizeMb of sizes) {
    const input = join(WORK, `line-${sizeMb}.txt`);
    writeFileSync(input, `${bookLine(SHARED, sizeMb === 0 ? 2000 : sizeMb * 1024 * 1024)}\n`);
    for (const [name, tree] of trees) {
      log(`${name}: ${sizeMb || 'short'} MB`);
      runs.push({ tree: name, sizeMb, ...(await classify(tree, model, input)) });
    }
  }
} finally {
  rmSync(WORK, { recursive: true, force: true });
}

const rows = runs.map((r) => {
  const base = runs.find((b) => b.tree === r.tree && b.sizeMb === 0)!;
  return [
    r.tree,
    r.sizeMb === 0 ? 'short (2,000 chars)' : `${r.sizeMb} MB`,
    r.code === 0 ? sig(r.peakMb) : `exit ${r.code}`,
    r.sizeMb === 0 ? '' : `+${sig(r.peakMb - base.peakMb)}`,
    sig(r.seconds),
  ];
});
console.log(machineMarkdown(machine));
console.log(markdownTable(['sources', 'line', 'peak RSS (MB)', 'growth (MB)', 'wall time (s)'], rows));
writeJsonResult('long-input', { machine, model, runs });
