/** The SST-2 dev token ids fixture (872 rows tokenized by the Rust core with the distilbert-sst2 tokenizer). */
import { readFileSync } from 'node:fs';
import { sharedPath } from './data.js';

interface IdsFixture {
  rows: { idx: number; sentence: string; label: number; input_ids: number[] }[];
}

export function readSharedIds(): number[][] {
  const fixture = JSON.parse(
    readFileSync(sharedPath('fixtures', 'pipeline', 'sst2-dev-ids.json'), 'utf8'),
  ) as IdsFixture;
  return fixture.rows.map((r) => r.input_ids);
}
