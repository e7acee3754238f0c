// Bench support: generates the media the benchmarks process, at bench time, in a temp
// directory: a typical 1024x768 photo-like JPEG, a ~20 MB JPEG and a ~50 MB WAV (the extractor's
// limits are 20 MiB for images and 50 MiB for audio, lib/settings.ts).
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import sharp from 'sharp';

/** A photo-sized JPEG with a gradient and mild noise (compresses like a photo, not like a flat fill). */
export async function typicalJpeg(): Promise<Buffer> {
  const width = 1024;
  const height = 768;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 42;
  const noise = () => {
    seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
    return (seed % 41) - 20;
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = Math.max(0, Math.min(255, (x / width) * 200 + 30 + noise()));
      pixels[i + 1] = Math.max(0, Math.min(255, (y / height) * 180 + 40 + noise()));
      pixels[i + 2] = Math.max(0, Math.min(255, 120 + Math.sin(x / 40) * 60 + noise()));
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

function randomPixels(width: number, height: number): Buffer {
  const pixels = Buffer.allocUnsafe(width * height * 3);
  let seed = 7;
  for (let i = 0; i < pixels.length; i += 4) {
    seed = (seed * 1_664_525 + 1_013_904_223) >>> 0;
    pixels.writeUInt32LE(seed, Math.min(i, pixels.length - 4));
  }
  return pixels;
}

/**
 * A noisy JPEG just under `targetBytes` (a high-resolution camera file has about as many pixels).
 * Noise keeps the size proportional to the pixel count, so one calibration pass finds the size.
 */
export async function largeJpeg(targetBytes: number): Promise<{ bytes: Buffer; width: number; height: number }> {
  const encode = (width: number, height: number) =>
    sharp(randomPixels(width, height), { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  const probe = await encode(600, 400);
  const bytesPerPixel = probe.length / (600 * 400);
  let scale = Math.sqrt((targetBytes * 0.97) / bytesPerPixel / (3 * 2));
  for (;;) {
    const width = Math.round(scale * 3);
    const height = Math.round(scale * 2);
    const bytes = await encode(width, height);
    if (bytes.length <= targetBytes) return { bytes, width, height };
    scale *= 0.98;
  }
}

/** A 16-bit stereo 44.1 kHz PCM WAV of `dataBytes` audio bytes (a tone with a little noise). */
export async function writeLargeWav(path: string, dataBytes: number): Promise<number> {
  const sampleRate = 44_100;
  const channels = 2;
  const frameBytes = channels * 2;
  const frames = Math.floor(dataBytes / frameBytes);
  const data = frames * frameBytes;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * frameBytes, 28);
  header.writeUInt16LE(frameBytes, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data, 40);
  const out = createWriteStream(path);
  out.write(header);
  const chunkFrames = 65_536;
  let seed = 3;
  for (let start = 0; start < frames; start += chunkFrames) {
    const count = Math.min(chunkFrames, frames - start);
    const chunk = Buffer.alloc(count * frameBytes);
    for (let f = 0; f < count; f++) {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      const t = (start + f) / sampleRate;
      const value = Math.round(Math.sin(2 * Math.PI * 440 * t) * 8000 + ((seed % 2001) - 1000));
      chunk.writeInt16LE(value, f * frameBytes);
      chunk.writeInt16LE(value, f * frameBytes + 2);
    }
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return 44 + data;
}
