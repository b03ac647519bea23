/** Post-processors by their tokenizer.json `type`, and `postProcessorFromJSON`. */
import { Registry, field, type JsonObject } from '../registry.js';
import { BertProcessing } from './bert.js';
import { ByteLevelProcessing } from './byte-level.js';
import { NoPostProcessor, type PostProcessor } from './post-processor.js';
import { RobertaProcessing } from './roberta.js';
import { SequenceProcessing } from './sequence.js';
import { TemplateProcessing } from './template.js';

export {
  BasePostProcessor,
  NoPostProcessor,
  processWithWindows,
  specialTokensEncoding,
} from './post-processor.js';
export type { LayoutPiece, PostProcessor } from './post-processor.js';
export { BertProcessing } from './bert.js';
export { ByteLevelProcessing, trimByteLevelOffsets } from './byte-level.js';
export { RobertaProcessing } from './roberta.js';
export { SequenceProcessing } from './sequence.js';
export { TemplateProcessing, type TemplatePiece, type TemplateSpecialToken } from './template.js';
export type { SpecialTokenPair } from './token-pair.js';

export const postProcessors = new Registry<PostProcessor>('post-processor');
postProcessors.register('BertProcessing', BertProcessing.fromJSON);
postProcessors.register('RobertaProcessing', RobertaProcessing.fromJSON);
postProcessors.register('TemplateProcessing', TemplateProcessing.fromJSON);
postProcessors.register('ByteLevel', ByteLevelProcessing.fromJSON);
postProcessors.register(
  'Sequence',
  (json: JsonObject, path: string) =>
    new SequenceProcessing(
      field
        .array(json, 'processors', path)
        .map((p, i) => postProcessors.fromJSON(p, `${path}.processors[${i}]`)),
    ),
);

/** Builds the post-processor of tokenizer.json (`null` there means none: texts are concatenated as they are). */
export function postProcessorFromJSON(json: unknown, path = 'post_processor'): PostProcessor {
  if (json === null || json === undefined) return new NoPostProcessor();
  return postProcessors.fromJSON(json, path);
}
