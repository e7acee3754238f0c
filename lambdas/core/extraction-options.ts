// Domain: a request's extraction options (issue 14), from intake to result.
// intake -> checkExtractionOptions (BCP 47) and canonicalOptions (part of the de-duplication key);
// extractor -> extractJob -> applyExtractionOptions, after whichever provider answered, so the
// local analyzer and Bedrock honour vocabulary, max_keywords and alt_text by the same rules.
// The prompts (core/prompts) ask the model for the language and vocabulary; this enforces them.
import type { ExtractionOptions, MediaKind } from './api-schemas';
import { ApiError } from './errors';
import { MAX_ALT_TEXT_LENGTH, MAX_KEYWORDS, normalizeKeywords, type MetadataResult } from './metadata-result';

/** What a job stores: options with the language in canonical BCP 47 form, empty ones dropped. */
export type StoredExtractionOptions = ExtractionOptions;

/** The language the analyzers write in when the request names none. */
export const DEFAULT_LANGUAGE = 'en';

// Built on first use: loading ICU's language names takes ~8 ms, paid by every cold start that
// imported this module, though only requests that name a language need them (BENCHMARKS.md cold start).
let languageNames: Intl.DisplayNames | undefined;
const languageName = (code: string) => (languageNames ??= new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' })).of(code);

/**
 * The canonical BCP 47 form (`en-us` -> `en-US`), or undefined. Well-formedness by the platform's
 * tag parser (ECMA-402 Intl.getCanonicalLocales: RFC 5646 / UTS 35 syntax); the primary language
 * must also be a 2-3 letter ISO 639 code that the platform's CLDR data names (Intl.DisplayNames),
 * since a prompt in an unknown language cannot be honoured.
 */
export function canonicalLanguageTag(tag: string): string | undefined {
  let canonical: string | undefined;
  try {
    canonical = Intl.getCanonicalLocales(tag)[0];
  } catch {
    return undefined;
  }
  const primary = canonical?.split('-')[0] ?? '';
  if (!/^[a-z]{2,3}$/.test(primary) || languageName(primary) === undefined) return undefined;
  return canonical;
}

const normalizeTerm = (term: string): string => term.normalize('NFC').trim().toLowerCase().replace(/\s+/g, ' ');

/** Validates and canonicalises; throws ApiError unsupported_language. Null when there is nothing to honour. */
export function checkExtractionOptions(options: ExtractionOptions | undefined): StoredExtractionOptions | null {
  if (options === undefined) return null;
  let language: string | undefined;
  if (options.language !== undefined) {
    language = canonicalLanguageTag(options.language);
    if (language === undefined) {
      throw new ApiError('unsupported_language', `options.language "${options.language}" is not a well-formed BCP 47 language tag.`, [
        { path: 'options.language', message: 'use a BCP 47 tag such as en, de-CH, pt-BR or zh-Hant' },
      ]);
    }
  }
  const vocabulary = options.vocabulary ? [...new Map(options.vocabulary.map((term) => [normalizeTerm(term), term.trim()])).values()] : undefined;
  const stored: StoredExtractionOptions = {
    ...(language !== undefined ? { language } : {}),
    ...(options.max_keywords !== undefined ? { max_keywords: options.max_keywords } : {}),
    ...(vocabulary !== undefined ? { vocabulary } : {}),
    ...(options.alt_text === true ? { alt_text: true } : {}),
  };
  return Object.keys(stored).length > 0 ? stored : null;
}

/**
 * The options' part of the de-duplication identity: the same file with other options is other
 * work. Vocabulary order and spelling case do not change the result, so they do not count.
 */
export function canonicalOptions(options: StoredExtractionOptions | null): string {
  if (!options) return '';
  return JSON.stringify([
    options.language ?? null,
    options.max_keywords ?? null,
    options.vocabulary ? [...new Set(options.vocabulary.map(normalizeTerm))].sort() : null,
    options.alt_text === true,
  ]);
}

/** Singular and plural spellings of an English term (a vocabulary's "cars" matches "car"). */
function variants(term: string): string[] {
  const out = [term];
  if (term.endsWith('ies')) out.push(`${term.slice(0, -3)}y`);
  else if (term.endsWith('s') && !term.endsWith('ss')) out.push(term.slice(0, -1));
  else out.push(`${term}s`);
  return out;
}

/** Keywords from the caller's list (in the caller's spelling) and the model's other keywords. */
export function matchVocabulary(keywords: readonly string[], vocabulary: readonly string[]): { keywords: string[]; unmatched: string[] } {
  const byTerm = new Map<string, string>();
  for (const term of vocabulary) for (const variant of variants(normalizeTerm(term))) if (!byTerm.has(variant)) byTerm.set(variant, term.trim());
  const matched: string[] = [];
  const unmatched: string[] = [];
  for (const keyword of keywords) {
    const hit = variants(normalizeTerm(keyword)).map((v) => byTerm.get(v)).find((term) => term !== undefined);
    if (hit !== undefined) {
      if (!matched.includes(hit)) matched.push(hit);
    } else if (!unmatched.includes(keyword)) {
      unmatched.push(keyword);
    }
  }
  return { keywords: matched, unmatched };
}

/** Cuts at a word boundary, never mid-word, within `max` characters. */
export function shortenAtWord(text: string, max: number): string {
  const clean = text.replace(/\s+/g, ' ').trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).replace(/[\s,;:.-]+$/, '')}…`;
}

/**
 * The result as the request asked for it. `language` is what the texts are written in: the
 * requested one when the provider writes in other languages, else the provider's own.
 */
export function applyExtractionOptions(
  result: MetadataResult,
  kind: MediaKind,
  options: StoredExtractionOptions | null | undefined,
  writtenLanguage: string,
): MetadataResult {
  const limit = Math.min(options?.max_keywords ?? MAX_KEYWORDS, MAX_KEYWORDS);
  let keywords = normalizeKeywords(result.keywords);
  let unmatched: string[] | undefined;
  if (options?.vocabulary) {
    const matched = matchVocabulary(keywords, options.vocabulary);
    keywords = matched.keywords;
    unmatched = matched.unmatched;
  }
  const shaped: Record<string, unknown> = { ...result, keywords: keywords.slice(0, limit), language: writtenLanguage };
  if (unmatched !== undefined) shaped.unmatched_keywords = unmatched;
  if (kind === 'image' && options?.alt_text === true) {
    const fromModel = 'alt_text' in result && typeof result.alt_text === 'string' ? result.alt_text : undefined;
    const caption = 'caption' in result ? result.caption : result.description;
    shaped.alt_text = shortenAtWord(fromModel ?? caption, MAX_ALT_TEXT_LENGTH);
  } else {
    delete shaped.alt_text;
  }
  return shaped as MetadataResult;
}
