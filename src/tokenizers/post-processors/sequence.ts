/** Sequence: runs several post-processors one after the other on the same list of encodings. */
import type { Encoding } from '../../encoding/encoding.js';
import { BasePostProcessor, type PostProcessor } from './post-processor.js';

export class SequenceProcessing extends BasePostProcessor {
  readonly type = 'Sequence';

  constructor(readonly processors: readonly PostProcessor[]) {
    super();
  }

  addedTokens(isPair: boolean): number {
    return this.processors.reduce((sum, p) => sum + p.addedTokens(isPair), 0);
  }

  processEncodings(encodings: Encoding[], addSpecialTokens: boolean): Encoding[] {
    let parts = encodings;
    for (const processor of this.processors) parts = processor.processEncodings(parts, addSpecialTokens);
    return parts;
  }
}
