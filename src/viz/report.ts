/**
 * `seqbatch viz`: one self-contained HTML file (inline CSS and SVG, no scripts or network) that shows what
 * tokenization, padding and attention masks do to a set of texts: the tokens of each text, each padding
 * strategy's batch grid with its attention mask, a length histogram with each strategy's padding waste, the
 * attention weights of one text per layer and head, and the windows of a long input.
 */
import { comparePaddingStrategies, type PaddingStrategyResult } from './padding.js';

export interface VizTextRow {
  text: string;
  /** Tokens with special tokens, as the model sees them (unpadded). */
  tokens: string[];
  /** 1 where the token was added by the post-processor ([CLS], [SEP], ...). */
  specialTokensMask?: number[];
}

export interface VizAttention {
  text: string;
  tokens: string[];
  /** attentions[layer][head][query][key], post-softmax probabilities. */
  attentions: number[][][][];
}

export interface VizWindow {
  tokens: string[];
  /** [start, end) of this window's slice of the long text's content tokens. */
  contentRange: [number, number];
}

export interface VizWindows {
  text: string;
  maxLength: number;
  stride: number;
  /** Number of content tokens (without special tokens) of the whole long text. */
  contentTokens: number;
  windows: VizWindow[];
}

export interface VizReportData {
  title: string;
  subtitle?: string;
  rows: VizTextRow[];
  batchSize: number;
  maxLength: number;
  /** How many rows the batch grids draw (all rows count in the histogram and the totals). Default 24. */
  gridRows?: number;
  attention?: VizAttention;
  windows?: VizWindows;
}

const STRATEGY_LABEL: Record<PaddingStrategyResult['strategy'], string> = {
  none: 'no padding (the floor: real tokens only)',
  longest: "padding='longest' per batch, input order",
  max_length: "padding='max_length' (model maximum)",
  sorted: 'sorted buckets, padding=longest',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function percent(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}

export function renderReport(data: VizReportData): string {
  const lengths = data.rows.map((r) => r.tokens.length);
  const strategies = comparePaddingStrategies(lengths, {
    batchSize: data.batchSize,
    maxLength: data.maxLength,
  });
  const sections = [
    renderTokens(data.rows.slice(0, data.gridRows ?? 24)),
    renderStrategyTable(strategies),
    renderHistogram(lengths, data.maxLength),
    ...strategies.map((s) => renderGrid(s, data.rows, data.gridRows ?? 24)),
    data.attention ? renderAttention(data.attention) : '',
    data.windows ? renderWindows(data.windows) : '',
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(data.title)}</title>
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
${data.subtitle ? `<p class="sub">${escapeHtml(data.subtitle)}</p>` : ''}
<p class="sub">${data.rows.length} texts, batch size ${data.batchSize}, model maximum ${data.maxLength} tokens.</p>
${sections.join('\n')}
</body></html>
`;
}

function renderTokens(rows: VizTextRow[]): string {
  const items = rows
    .map((row, i) => {
      const chips = row.tokens
        .map(
          (t, j) =>
            `<span class="tok${row.specialTokensMask?.[j] ? ' special' : ''}">${escapeHtml(t)}</span>`,
        )
        .join('');
      return `<li><div class="text">${escapeHtml(row.text)}</div><div class="chips" data-row="${i}">${chips}</div></li>`;
    })
    .join('\n');
  return `<section id="tokens"><h2>Tokens of each text</h2><ol class="tokens">${items}</ol></section>`;
}

function renderStrategyTable(strategies: PaddingStrategyResult[]): string {
  const rows = strategies
    .map(
      (s) =>
        `<tr data-strategy="${s.strategy}"><td>${STRATEGY_LABEL[s.strategy]}</td><td>${s.batches.length}</td>` +
        `<td>${s.realTokens}</td><td>${s.computedTokens}</td><td>${percent(s.paddingRatio)}</td></tr>`,
    )
    .join('');
  return `<section id="waste"><h2>Padding waste per strategy</h2>
<table><thead><tr><th>strategy</th><th>batches</th><th>real tokens</th><th>computed tokens</th><th>padding share</th></tr></thead>
<tbody>${rows}</tbody></table></section>`;
}

function renderHistogram(lengths: number[], maxLength: number): string {
  if (lengths.length === 0) return '<section id="histogram"><h2>Lengths</h2><p>No texts.</p></section>';
  const longest = Math.max(...lengths);
  const binWidth = Math.max(1, Math.ceil(longest / 40));
  const bins = new Array<number>(Math.floor(longest / binWidth) + 1).fill(0);
  for (const len of lengths) bins[Math.floor(len / binWidth)]! += 1;
  const top = Math.max(...bins);
  const w = 640;
  const h = 180;
  const barW = w / bins.length;
  const bars = bins
    .map((count, i) => {
      const bh = (count / top) * (h - 20);
      const label = `${i * binWidth}–${(i + 1) * binWidth - 1} tokens: ${count} texts`;
      return `<rect class="bar" x="${(i * barW).toFixed(1)}" y="${(h - bh).toFixed(1)}" width="${Math.max(1, barW - 1).toFixed(1)}" height="${bh.toFixed(1)}"><title>${label}</title></rect>`;
    })
    .join('');
  // The model maximum is drawn only when it falls inside the drawn range; otherwise the caption says so.
  const limitInside = maxLength <= longest;
  const maxX = (maxLength / binWidth) * barW;
  const limitLine = limitInside
    ? `<line x1="${maxX.toFixed(1)}" x2="${maxX.toFixed(1)}" y1="0" y2="${h}" class="limit"/>`
    : '';
  const limitNote = limitInside
    ? `; the red line is the model maximum (${maxLength}), longer texts are truncated or windowed`
    : `; every text fits the model maximum (${maxLength})`;
  return `<section id="histogram"><h2>Length distribution</h2>
<svg width="${w}" height="${h + 20}" role="img" aria-label="histogram of token lengths">${bars}
${limitLine}
<text x="0" y="${h + 15}">0</text><text x="${w}" y="${h + 15}" text-anchor="end">${longest} tokens</text></svg>
<p>Shortest ${Math.min(...lengths)}, longest ${longest}, mean ${(lengths.reduce((a, b) => a + b, 0) / lengths.length).toFixed(1)} tokens${limitNote}.</p></section>`;
}

function renderGrid(strategy: PaddingStrategyResult, rows: VizTextRow[], gridRows: number): string {
  const lines: string[] = [];
  let drawn = 0;
  for (const [b, batch] of strategy.batches.entries()) {
    if (drawn >= gridRows) break;
    lines.push(
      `<div class="batch-label">batch ${b + 1} (padded to ${strategy.strategy === 'none' ? 'no padding' : batch.paddedLength})</div>`,
    );
    for (const r of batch.rows) {
      if (drawn >= gridRows) break;
      const row = rows[r]!;
      const real = Math.min(row.tokens.length, strategy.strategy === 'none' ? Infinity : batch.paddedLength);
      const width = strategy.strategy === 'none' ? real : batch.paddedLength;
      const cells: string[] = [];
      for (let j = 0; j < width; j++) {
        if (j < real) {
          const special = row.specialTokensMask?.[j] ? ' special' : '';
          cells.push(`<span class="cell real${special}" title="${escapeHtml(row.tokens[j]!)}">1</span>`);
        } else {
          cells.push('<span class="cell pad" title="[PAD]">0</span>');
        }
      }
      lines.push(
        `<div class="grid-row" data-row="${r}"><span class="row-id">#${r}</span>${cells.join('')}</div>`,
      );
      drawn++;
    }
  }
  return `<section class="grid" data-strategy="${strategy.strategy}"><h2>Batch grid: ${STRATEGY_LABEL[strategy.strategy]}</h2>
<p>Each cell is one position; the digit is its attention_mask value. Padding share ${percent(strategy.paddingRatio)}.</p>
${lines.join('\n')}</section>`;
}

function renderAttention(attention: VizAttention): string {
  const n = attention.tokens.length;
  const cell = Math.max(4, Math.min(14, Math.floor(220 / Math.max(1, n))));
  const layers = attention.attentions
    .map((heads, l) => {
      const maps = heads
        .map((matrix, h) => {
          const rects: string[] = [];
          for (let q = 0; q < n; q++) {
            for (let k = 0; k < n; k++) {
              const p = matrix[q]?.[k] ?? 0;
              const shade = Math.round(255 * (1 - Math.min(1, Math.max(0, p))));
              rects.push(
                `<rect x="${k * cell}" y="${q * cell}" width="${cell}" height="${cell}" fill="rgb(${shade},${shade},255)"><title>${escapeHtml(attention.tokens[q]!)} → ${escapeHtml(attention.tokens[k]!)}: ${p.toFixed(3)}</title></rect>`,
              );
            }
          }
          return `<figure><svg width="${n * cell}" height="${n * cell}" data-layer="${l}" data-head="${h}">${rects.join('')}</svg><figcaption>layer ${l + 1}, head ${h + 1}</figcaption></figure>`;
        })
        .join('');
      return `<div class="layer">${maps}</div>`;
    })
    .join('\n');
  return `<section id="attention"><h2>Attention weights</h2>
<p>Text: “${escapeHtml(attention.text)}”. Rows are queries, columns keys: ${attention.tokens.map(escapeHtml).join(' · ')}</p>
${layers}</section>`;
}

function renderWindows(w: VizWindows): string {
  const width = 700;
  const scale = width / Math.max(1, w.contentTokens);
  const bars = w.windows
    .map((win, i) => {
      const [s, e] = win.contentRange;
      return `<rect class="window" x="${(s * scale).toFixed(1)}" y="${i * 22}" width="${Math.max(1, (e - s) * scale).toFixed(1)}" height="16"><title>window ${i + 1}: content tokens ${s}–${e - 1}</title></rect><text x="${(s * scale + 4).toFixed(1)}" y="${i * 22 + 12}">${i + 1}</text>`;
    })
    .join('');
  const list = w.windows
    .map(
      (win, i) =>
        `<li data-window="${i}">tokens ${win.contentRange[0]}–${win.contentRange[1] - 1}: ${escapeHtml(win.tokens.slice(0, 12).join(' '))}${win.tokens.length > 12 ? ' …' : ''}</li>`,
    )
    .join('');
  return `<section id="windows"><h2>Windows of a long input</h2>
<p>${w.contentTokens} content tokens, max length ${w.maxLength}, stride ${w.stride}: ${w.windows.length} overlapping windows.</p>
<svg width="${width}" height="${w.windows.length * 22}">${bars}</svg><ol>${list}</ol></section>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
.sub{color:#555}
.tokens li{margin-bottom:8px}.text{color:#444}
.tok{display:inline-block;background:#e3ecfb;border-radius:3px;padding:0 4px;margin:1px;font-family:monospace}
.tok.special{background:#fde2b8}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}td:first-child,th:first-child{text-align:left}
.bar{fill:#5b8def}.limit{stroke:#d33;stroke-width:2}
.grid-row{white-space:nowrap;line-height:0}.row-id{display:inline-block;width:40px;font-size:10px;line-height:12px;color:#777}
.cell{display:inline-block;width:11px;height:12px;margin:0 1px 1px 0;font:9px/12px monospace;text-align:center}
.cell.real{background:#5b8def;color:#fff}.cell.real.special{background:#f0a030}
.cell.pad{background:repeating-linear-gradient(45deg,#ddd,#ddd 2px,#f4f4f4 2px,#f4f4f4 4px);color:#999}
.batch-label{font-size:11px;color:#666;margin-top:6px}
.layer{display:flex;flex-wrap:wrap;gap:8px}figure{margin:4px}figcaption{font-size:11px;color:#555}
.window{fill:#9fc29f;fill-opacity:.7;stroke:#2d6a2d}
`;
