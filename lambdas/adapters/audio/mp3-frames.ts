// Audio normaliser helper: audio-normaliser -> here. Walks the MPEG audio frames of an MP3
// stream (ISO/IEC 11172-3 and 13818-3 frame headers) so the normalised output can be checked
// (really mono 16 kHz Layer III) and cut into segments at frame boundaries without re-encoding.

export interface Mp3Frame {
  readonly offset: number;
  readonly length: number;
  /** 1 = MPEG-1, 2 = MPEG-2 (LSF), 2.5 = MPEG-2.5. */
  readonly version: 1 | 2 | 2.5;
  readonly layer: 1 | 2 | 3;
  readonly bitrateKbps: number;
  readonly sampleRate: number;
  readonly channels: 1 | 2;
  /** PCM samples per channel this frame decodes to. */
  readonly samples: number;
}

export interface Mp3Stream {
  readonly frames: readonly Mp3Frame[];
  /** Bytes before the first frame (an ID3v2 tag, if any). */
  readonly leadingBytes: number;
  readonly durationSeconds: number;
}

// Bitrate tables (kbps), by [MPEG-1 ? 0 : 1][layer - 1][index]; index 0 is "free", 15 invalid.
const BITRATES: readonly (readonly (readonly number[])[])[] = [
  [
    [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
    [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  ],
  [
    [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  ],
];
const SAMPLE_RATES: Readonly<Record<string, readonly number[]>> = {
  '1': [44_100, 48_000, 32_000],
  '2': [22_050, 24_000, 16_000],
  '2.5': [11_025, 12_000, 8_000],
};

/** The frame header at `offset`, or undefined when the four bytes there are not one. */
export function readFrameHeader(bytes: Uint8Array, offset: number): Mp3Frame | undefined {
  if (offset + 4 > bytes.length) return undefined;
  const b1 = bytes[offset + 1]!;
  const b2 = bytes[offset + 2]!;
  const b3 = bytes[offset + 3]!;
  if (bytes[offset] !== 0xff || (b1 & 0xe0) !== 0xe0) return undefined;
  const versionBits = (b1 >> 3) & 0b11;
  const layerBits = (b1 >> 1) & 0b11;
  if (versionBits === 0b01 || layerBits === 0b00) return undefined;
  const version = versionBits === 0b11 ? 1 : versionBits === 0b10 ? 2 : 2.5;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const bitrateIndex = b2 >> 4;
  const sampleRateIndex = (b2 >> 2) & 0b11;
  if (bitrateIndex === 0 || bitrateIndex === 15 || sampleRateIndex === 3) return undefined;
  const bitrateKbps = BITRATES[version === 1 ? 0 : 1]![layer - 1]![bitrateIndex]!;
  const sampleRate = SAMPLE_RATES[String(version)]![sampleRateIndex]!;
  const padding = (b2 >> 1) & 1;
  const channels = (b3 >> 6) === 0b11 ? 1 : 2;
  const samples = layer === 1 ? 384 : layer === 2 || version === 1 ? 1152 : 576;
  const length =
    layer === 1
      ? (Math.floor((12 * bitrateKbps * 1000) / sampleRate) + padding) * 4
      : Math.floor(((samples / 8) * bitrateKbps * 1000) / sampleRate) + padding;
  return { offset, length, version, layer, bitrateKbps, sampleRate, channels, samples };
}

/** Size of an ID3v2 tag at the start of `bytes` (header + body + footer), 0 when there is none. */
export function id3v2Size(bytes: Uint8Array): number {
  if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return 0;
  const size = ((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f);
  const footer = bytes[5]! & 0x10 ? 10 : 0;
  return 10 + size + footer;
}

/**
 * Every frame, strictly back to back from the first one (after any ID3v2 tag). Throws on a
 * gap or a broken header: our encoder's output has neither, so either means it is not ours.
 */
export function parseMp3Frames(bytes: Uint8Array): Mp3Stream {
  const leadingBytes = id3v2Size(bytes);
  const frames: Mp3Frame[] = [];
  let offset = leadingBytes;
  let samples = 0;
  while (offset < bytes.length) {
    // An ID3v1 tag (128 bytes, "TAG") may close a file.
    if (bytes.length - offset === 128 && bytes[offset] === 0x54 && bytes[offset + 1] === 0x41 && bytes[offset + 2] === 0x47) break;
    const frame = readFrameHeader(bytes, offset);
    if (!frame) throw new Error(`no MPEG audio frame header at byte ${offset}`);
    if (offset + frame.length > bytes.length) throw new Error(`frame at byte ${offset} is truncated`);
    frames.push(frame);
    samples += frame.samples;
    offset += frame.length;
  }
  const sampleRate = frames[0]?.sampleRate ?? 1;
  return { frames, leadingBytes, durationSeconds: samples / sampleRate };
}
