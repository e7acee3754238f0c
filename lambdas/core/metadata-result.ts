// What extraction produces for a file, whichever model provider made it.
// The Bedrock provider forces a tool call whose input schema is generated from these.
import { z, type Infer } from './zod';

export const MAX_KEYWORDS = 20;

const text = (max: number) => z.string().check(z.trim(), z.minLength(1), z.maxLength(max));

/** Technical facts read from the file itself (dimensions, codec, tags...). */
export const mediaPropertiesSchema = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.array(z.string()), z.null()]),
);

export const imageResultSchema = z.object({
  description: text(2000),
  keywords: z.array(text(64)).check(z.maxLength(50)),
  caption: text(300),
  properties: z.optional(mediaPropertiesSchema),
});

export const audioResultSchema = z.object({
  description: text(2000),
  keywords: z.array(text(64)).check(z.maxLength(50)),
  summary: text(400),
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
