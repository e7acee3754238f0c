// Audio made at test time (too big to commit): PCM WAV written byte by byte, and MP3 encoded
// with the same ffmpeg the normaliser runs. Deterministic: a sine plus a low-level pseudo-random
// noise, so encoders see something like a recording rather than digital silence.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';

export const FFMPEG_PATH = ffmpegInstaller.path;

/** `seconds` of a 440 Hz tone as raw s16le mono at 16 kHz: what ffmpeg hands the MP3 encoder worker. */
export function tonePcm16k(seconds: number): Uint8Array {
  const samples = new Int16Array(Math.round(seconds * 16_000)).map((_, i) => Math.round(9_000 * Math.sin((2 * Math.PI * 440 * i) / 16_000)));
  return new Uint8Array(samples.buffer);
}

/** 16-bit PCM RIFF/WAVE. `seconds` of a 440 Hz tone (channel 2 at 660 Hz) with a little noise. */
export function makeWav(options: { seconds: number; sampleRate: number; channels: 1 | 2 }): Uint8Array {
  const { seconds, sampleRate, channels } = options;
  const frames = Math.round(seconds * sampleRate);
  const dataBytes = frames * channels * 2;
  const out = Buffer.alloc(44 + dataBytes);
  out.write('RIFF', 0, 'latin1');
  out.writeUInt32LE(36 + dataBytes, 4);
  out.write('WAVEfmt ', 8, 'latin1');
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(1, 20);
  out.writeUInt16LE(channels, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * channels * 2, 28);
  out.writeUInt16LE(channels * 2, 32);
  out.writeUInt16LE(16, 34);
  out.write('data', 36, 'latin1');
  out.writeUInt32LE(dataBytes, 40);
  // One period of each tone, repeated: far cheaper than Math.sin per sample for minutes of audio.
  const periods = [440, 660].map((hz) => {
    const table = new Int16Array(sampleRate);
    for (let i = 0; i < sampleRate; i++) table[i] = Math.round(Math.sin((2 * Math.PI * hz * i) / sampleRate) * 9000);
    return table;
  });
  let seed = 12345;
  let offset = 44;
  for (let i = 0; i < frames; i++) {
    const at = i % sampleRate;
    for (let c = 0; c < channels; c++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      out.writeInt16LE(periods[c]![at]! + ((seed >> 16) % 600), offset);
      offset += 2;
    }
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/**
 * A `seconds`-long stereo MP3: ffmpeg encodes a 10 s piece (no bit reservoir, no Xing header,
 * so frames stand alone) and the piece is repeated: a real CBR stream of any length, made in
 * well under a second instead of a full-length encode.
 */
export async function makeMp3(options: { seconds: number; sampleRate?: number; bitrateKbps?: number }): Promise<Uint8Array> {
  const rate = options.sampleRate ?? 44_100;
  const piece = Math.min(10, options.seconds);
  const { stdout } = await promisify(execFile)(
    FFMPEG_PATH,
    [
      '-hide_banner', '-loglevel', 'error',
      '-f', 'lavfi', '-i', `sine=f=440:d=${piece}:sample_rate=${rate}`,
      '-f', 'lavfi', '-i', `anoisesrc=d=${piece}:c=pink:a=0.05:r=${rate}:seed=7`,
      '-filter_complex', '[0][1]amerge=inputs=2',
      '-c:a', 'libmp3lame', '-b:a', `${options.bitrateKbps ?? 128}k`, '-compression_level', '9',
      '-reservoir', '0', '-write_xing', '0', '-id3v2_version', '0',
      '-f', 'mp3', 'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  const copies = Math.ceil(options.seconds / piece);
  return new Uint8Array(Buffer.concat(Array.from({ length: copies }, () => stdout)));
}

/** Raw ADTS AAC: a stream with no duration in any header (music-metadata reports none). */
export async function makeAdtsAac(seconds: number): Promise<Uint8Array> {
  const { stdout } = await promisify(execFile)(
    FFMPEG_PATH,
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=f=440:d=${seconds}:sample_rate=8000`, '-c:a', 'aac', '-b:a', '16k', '-f', 'adts', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return new Uint8Array(stdout);
}
