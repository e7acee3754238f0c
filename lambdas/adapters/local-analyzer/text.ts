// Local analyzer, shared wording helpers: clean embedded text and build readable sentences.

/** Embedded text is untrusted: drop control characters, collapse whitespace, trim. */
export function cleanText(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined;
  const text = String(value)
    .normalize('NFC')
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 0 ? text : undefined;
}

/** Cuts at a word boundary and marks the cut, so a result always fits its schema limit. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 1);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > max / 2 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

/** "a", "a and b", "a, b and c". */
export function listPhrase(items: readonly string[]): string {
  if (items.length <= 1) return items[0] ?? '';
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** "an" before a vowel sound for the words we generate (formats, sizes, orientations). */
export function article(nextWord: string): 'a' | 'an' {
  return /^([aeio]|8|1[18](?!\d)|u(?!ni)|mp|m4a|ogg|opus|aac)/i.test(nextWord) ? 'an' : 'a';
}

/** A library's error message, one line and short, for a job's failure message. */
export function errorSummary(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return truncate(message.replace(/\s+/g, ' ').trim(), 200);
}

/**
 * exifr decodes IPTC strings as Latin-1 even when the file declares UTF-8, so "café" arrives as
 * "cafÃ©". Text whose code units are all bytes and which forms valid multi-byte UTF-8 is re-decoded;
 * real Latin-1 text almost never forms valid UTF-8 sequences, so it is left alone.
 */
export function repairUtf8ReadAsLatin1(text: string): string {
  if (!/[\u0080-\u00ff]/.test(text) || /[^\u0000-\u00ff]/.test(text)) return text;
  const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return text;
  }
}
