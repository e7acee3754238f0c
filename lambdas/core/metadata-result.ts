// What extraction produces for a file, whichever model provider made it.
// The Bedrock provider forces a tool call whose input schema is generated from these.
import { z, type Infer } from './zod';

export const MAX_KEYWORDS = 20;

/** Longest `alt_text` (options.alt_text): screen readers cut alt text beyond about 125 characters. */
export const MAX_ALT_TEXT_LENGTH = 125;

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

/** Technical facts read from the file itself (dimensions, codec, tags...). */
export const mediaPropertiesSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]),
);

/** Set from the request's options after the model answered (core/extraction-options), never by the model. */
const optionFields = {
  /** BCP 47 tag of the language the texts are written in. */
  language: z.optional(z.string()),
  /** With options.vocabulary: the keywords the model proposed that are not in the caller's list. */
  unmatched_keywords: z.optional(z.array(z.string())),
};

export const imageResultSchema = z.object({
  description: text(2000),
  keywords: z.array(text(64)).check(z.maxLength(50)),
  caption: text(300),
  /** Only when the request asked for it (options.alt_text). */
  alt_text: z.optional(text(MAX_ALT_TEXT_LENGTH)),
  ...optionFields,
  properties: z.optional(mediaPropertiesSchema),
});

export const audioResultSchema = z.object({
  description: text(2000),
  keywords: z.array(text(64)).check(z.maxLength(50)),
  summary: text(400),
  ...optionFields,
  properties: z.optional(mediaPropertiesSchema),
});

export type ImageResult = Infer<typeof imageResultSchema>;
export type AudioResult = Infer<typeof audioResultSchema>;
export type MetadataResult = ImageResult | AudioResult;

/** Lower-cased, trimmed, de-duplicated (first occurrence wins) and capped at MAX_KEYWORDS. */
export function normalizeKeywords(keywords: readonly string[]): string[] {
  const seen = new Set<string>();
  for (const raw of keywords) {
    const keyword = raw.normalize('NFC').trim().toLowerCase().replace(/\s+/g, ' ');
    if (keyword.length > 0 && keyword.length <= 64) seen.add(keyword);
    if (seen.size === MAX_KEYWORDS) break;
  }
  return [...seen];
}
