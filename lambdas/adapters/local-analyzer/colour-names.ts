// Local analyzer, image part: turns a small RGBA thumbnail into a few named dominant colours.
// Pure and integer-based so the same pixels always give the same names and hex values.

export interface DominantColour {
  /** A plain colour word (e.g. "blue"), usable as a keyword. */
  readonly name: string;
  /** Mean of the pixels that got this name, as #rrggbb. */
  readonly hex: string;
  /** Share of the opaque pixels, 0..1. */
  readonly share: number;
}

const MAX_COLOURS = 3;
/** A colour under this share of the picture is detail, not a dominant colour. */
const MIN_SHARE = 0.08;
/** Pixels less than half opaque do not count: a logo's transparent margin is not "black". */
const MIN_ALPHA = 128;

/** Names the colour of one pixel by lightness, saturation and hue bands. */
export function colourName(r: number, g: number, b: number): string {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const chroma = max - min;
  const lightness = (max + min) / 510;
  if (lightness >= 0.9) return 'white';
  if (lightness <= 0.1) return 'black';
  const saturation = chroma / (255 - Math.abs(max + min - 255));
  if (chroma < 24 || saturation < 0.15) {
    if (lightness >= 0.8) return 'white';
    if (lightness <= 0.2) return 'black';
    return 'gray';
  }
  const hue = hueOf(r, g, b, max, chroma);
  if (hue < 15 || hue >= 345) return lightness >= 0.7 ? 'pink' : 'red';
  if (hue < 45) return lightness < 0.4 ? 'brown' : 'orange';
  if (hue < 70) return lightness < 0.3 ? 'olive' : 'yellow';
  if (hue < 160) return 'green';
  if (hue < 200) return lightness < 0.45 ? 'teal' : 'cyan';
  if (hue < 260) return 'blue';
  if (hue < 290) return 'purple';
  // Dark magenta reads as purple (CSS "purple" is #800080), light magenta as pink.
  if (lightness < 0.35) return 'purple';
  return lightness >= 0.65 ? 'pink' : 'magenta';
}

function hueOf(r: number, g: number, b: number, max: number, chroma: number): number {
  let sector: number;
  if (max === r) sector = ((g - b) / chroma + 6) % 6;
  else if (max === g) sector = (b - r) / chroma + 2;
  else sector = (r - g) / chroma + 4;
  return sector * 60;
}

export interface ColourSummary {
  /**
   * Up to three colours covering at least 8% of the opaque pixels each, largest share first
   * (ties broken by name so the order never depends on pixel order). Empty when nothing is opaque.
   */
  readonly dominant: DominantColour[];
  /** At least 98% of the opaque pixels are white, gray or black. */
  readonly monochrome: boolean;
}

const NEUTRAL = new Set(['white', 'gray', 'black']);
const MONOCHROME_SHARE = 0.98;

/** Summarises the colours of raw 8-bit RGBA pixels. */
export function summariseColours(rgba: Uint8Array): ColourSummary {
  const buckets = new Map<string, { count: number; r: number; g: number; b: number }>();
  let opaque = 0;
  for (let at = 0; at + 3 < rgba.length; at += 4) {
    if (rgba[at + 3]! < MIN_ALPHA) continue;
    const r = rgba[at]!;
    const g = rgba[at + 1]!;
    const b = rgba[at + 2]!;
    const name = colourName(r, g, b);
    const bucket = buckets.get(name) ?? { count: 0, r: 0, g: 0, b: 0 };
    bucket.count += 1;
    bucket.r += r;
    bucket.g += g;
    bucket.b += b;
    buckets.set(name, bucket);
    opaque += 1;
  }
  if (opaque === 0) return { dominant: [], monochrome: false };
  const ranked = [...buckets.entries()].sort(([nameA, a], [nameB, b]) => b.count - a.count || (nameA < nameB ? -1 : 1));
  const neutral = ranked.reduce((sum, [name, bucket]) => sum + (NEUTRAL.has(name) ? bucket.count : 0), 0);
  const dominant = ranked
    .filter(([, bucket], index) => index === 0 || bucket.count / opaque >= MIN_SHARE)
    .slice(0, MAX_COLOURS)
    .map(([name, bucket]) => ({
      name,
      hex: toHex(bucket.r / bucket.count, bucket.g / bucket.count, bucket.b / bucket.count),
      share: Math.round((bucket.count / opaque) * 100) / 100,
    }));
  return { dominant, monochrome: neutral / opaque >= MONOCHROME_SHARE };
}

function toHex(r: number, g: number, b: number): string {
  return `#${[r, g, b].map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('')}`;
}
