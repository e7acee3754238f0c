// The local analyzer: extractor handler -> extract use case -> this MetadataProvider.
// The default, offline provider: derives metadata from the file's own bytes (pixels, EXIF/IPTC/XMP,
// stream facts, tags) with no network and no model, so the same bytes always give the same result.
// Image and audio work lives in ./local-analyzer/; its libraries load on first use.
import { PermanentJobError } from '../core/errors';
import { audioResultSchema, imageResultSchema } from '../core/metadata-result';
import type { ExtractionInput, ExtractionOutput, MetadataProvider } from '../core/ports';
import { resolveSettings, type Settings } from '../../lib/settings';
import { describeAudio } from './local-analyzer/audio-facts';
import { describeImage } from './local-analyzer/image-facts';
import { defaultMetadataParser, MetadataParser } from './metadata-parser/metadata-parser';

export const LOCAL_ANALYZER_MODEL = { provider: 'local', id: 'metahook-local-analyzer/1' } as const;
/** The analyzer has rules, not a prompt: its "prompt version" names the rule set. */
export const LOCAL_ANALYZER_PROMPT_VERSION = 'local-rules/1';

export interface LocalAnalyzerOptions {
  /** @default resolveSettings().decode */
  readonly decode?: Settings['decode'];
  /** @default one for `decode`'s parse budgets (the process-wide one when `decode` is not given) */
  readonly parser?: MetadataParser;
}

export function createLocalAnalyzer(options: LocalAnalyzerOptions = {}): MetadataProvider {
  const decode = options.decode ?? resolveSettings().decode;
  const parser = options.parser ?? (options.decode ? new MetadataParser(decode) : defaultMetadataParser());
  return {
    name: 'local',
    async extract(input: ExtractionInput): Promise<ExtractionOutput> {
      const draft =
        input.kind === 'image'
          ? await describeImage(input.bytes, { format: input.format, budget: decode, parser, maxMetadataBytes: decode.maxImageMetadataBytes })
          : await describeAudio(input.bytes, input.format, { parser, maxTagBytes: decode.maxAudioTagBytes });
      // Our own wording must fit the same contract a model's output is held to.
      const checked = (input.kind === 'image' ? imageResultSchema : audioResultSchema).safeParse(draft);
      if (!checked.success) {
        throw new PermanentJobError('extraction_failed', `The local analyzer produced an invalid ${input.kind} result`, {
          cause: checked.error,
        });
      }
      return {
        result: checked.data,
        model: { ...LOCAL_ANALYZER_MODEL },
        promptVersion: LOCAL_ANALYZER_PROMPT_VERSION,
        // It writes English only; the requested language is not honoured (docs/local-analyzer.md).
        language: 'en',
      };
    },
  };
}
