// Test fixtures, step zero: generates the small media files in test/fixtures/ once.
// The outputs are committed, so tests never need these tools; rerun only to change a fixture
// (and then update test/fixtures/README.md, whose facts the tests assert).
//
//   npx tsx scripts/make-fixtures.ts                 (all)
//   npx tsx scripts/make-fixtures.ts --ffmpeg-only   (the audio made with ffmpeg only)
//
// Tools: sharp (npm, already a dependency) draws the images and writes WAV by hand; the rest
// are Debian packages installed once with
//   apt-get install libimage-exiftool-perl sox libsox-fmt-all lame flac vorbis-tools opus-tools
// exiftool 12.57 (IPTC/EXIF/XMP), sox 14.4.2 (sine synthesis), lame 3.100 (MP3 + ID3v2),
// flac 1.4.2, oggenc (vorbis-tools 1.4.2), opusenc (opus-tools 0.2).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ffmpegInstaller from '@ffmpeg-installer/ffmpeg';
import sharp from 'sharp';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures');
const MAX_FIXTURE_BYTES = 60 * 1024;
const scratch = mkdtempSync(join(tmpdir(), 'metahook-fixtures-'));

const out = (name: string) => join(FIXTURES, name);
const run = (tool: string, args: string[]) => execFileSync(tool, args, { stdio: ['ignore', 'ignore', 'inherit'] });

// ---------- images ----------

async function makePhotoWithIptc(): Promise<void> {
  // A landscape-ish scene (sky, sun, hill) so the JPEG compresses like a photo, not a flat fill.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="320" height="240">
    <defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#1e5fa8"/><stop offset="1" stop-color="#7fb6e6"/></linearGradient></defs>
    <rect width="320" height="240" fill="url(#sky)"/>
    <circle cx="250" cy="60" r="28" fill="#f7d23e"/>
    <path d="M0 170 Q 90 120 180 160 T 320 150 L 320 240 L 0 240 Z" fill="#3f8f3a"/>
  </svg>`;
  const file = out('photo-iptc.jpg');
  await sharp(Buffer.from(svg)).jpeg({ quality: 70 }).toFile(file);
  run('exiftool', [
    '-overwrite_original',
    '-IPTC:CodedCharacterSet=UTF8',
    '-IPTC:Caption-Abstract=Sun over a green hill under a clear blue sky',
    '-IPTC:Keywords=sunny day',
    '-IPTC:Keywords=Hill',
    '-IPTC:Keywords=landscape',
    '-IPTC:Keywords=Été', // non-ASCII: IPTC text is UTF-8 here (CodedCharacterSet)
    '-EXIF:Make=Canon',
    '-EXIF:Model=Canon EOS 5D Mark IV',
    '-EXIF:DateTimeOriginal=2024:05:17 14:30:00',
    '-XMP-dc:Title=Hill at Noon',
    file,
  ]);
}

async function makeGraphicWithAlpha(): Promise<void> {
  // A red disc on a fully transparent square: the transparent corners must not count as a colour.
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">
    <circle cx="32" cy="32" r="28" fill="#d62828"/></svg>`;
  await sharp(Buffer.from(svg)).png().toFile(out('graphic.png'));
}

async function makeAnimation(): Promise<void> {
  const frame = (hex: string) => sharp({ create: { width: 48, height: 32, channels: 3, background: hex } }).png().toBuffer();
  const frames = [await frame('#1d4ed8'), await frame('#f97316')];
  await sharp(frames, { join: { animated: true } }).gif({ delay: [500, 500], loop: 0 }).toFile(out('animation.gif'));
}

async function makeWebp(): Promise<void> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="96">
    <rect width="64" height="96" fill="#2a9d8f"/><rect y="64" width="64" height="32" fill="#f4f1de"/></svg>`;
  await sharp(Buffer.from(svg)).webp({ quality: 80 }).toFile(out('image.webp'));
}

// ---------- audio ----------

/** Little-endian RIFF/WAVE, 16-bit PCM, with a LIST/INFO chunk (sox does not write one). */
function makeToneWav(): void {
  const sampleRate = 16_000;
  const seconds = 1;
  const samples = sampleRate * seconds;
  const pcm = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    pcm.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / sampleRate) * 0.5 * 32767), i * 2);
  }
  const infoField = (id: string, value: string) => {
    const text = Buffer.from(`${value}\0`, 'latin1');
    const padded = text.length % 2 === 0 ? text : Buffer.concat([text, Buffer.alloc(1)]);
    const header = Buffer.alloc(8);
    header.write(id, 0, 'latin1');
    header.writeUInt32LE(text.length, 4);
    return Buffer.concat([header, padded]);
  };
  const info = Buffer.concat([Buffer.from('INFO'), infoField('INAM', 'Calibration Tone'), infoField('IART', 'Metahook Fixtures')]);
  const chunk = (id: string, body: Buffer) => {
    const header = Buffer.alloc(8);
    header.write(id, 0, 'latin1');
    header.writeUInt32LE(body.length, 4);
    return Buffer.concat([header, body]);
  };
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE(sampleRate * 2, 8); // byte rate
  fmt.writeUInt16LE(2, 12); // block align
  fmt.writeUInt16LE(16, 14); // bits per sample
  const body = Buffer.concat([Buffer.from('WAVE'), chunk('fmt ', fmt), chunk('data', pcm), chunk('LIST', info)]);
  writeFileSync(out('tone.wav'), chunk('RIFF', body));
}

function makeTaggedMp3(): void {
  const wav = join(scratch, 'stereo.wav');
  run('sox', ['-n', '-r', '44100', '-b', '16', '-c', '2', wav, 'synth', '2', 'sine', '440', 'sine', '660', 'gain', '-6']);
  run('lame', [
    '--quiet', '-b', '64', '--cbr', '--resample', '44.1', '--id3v2-only',
    '--tt', 'Morning Test Signal', '--ta', 'Metahook Test Band', '--tl', 'Fixture Sessions',
    '--tg', 'Electronic', '--ty', '2024',
    wav, out('tagged.mp3'),
  ]);
}

function makeFlac(): void {
  const wav = join(scratch, 'mono.wav');
  run('sox', ['-n', '-r', '22050', '-b', '16', '-c', '1', wav, 'synth', '1.5', 'sine', '330', 'gain', '-6']);
  run('flac', ['--silent', '--best', '-f', '-T', 'TITLE=Short Flac Sample', '-T', 'ARTIST=Metahook Fixtures', '-T', 'GENRE=Ambient', '-o', out('short.flac'), wav]);
}

function makeOggVorbis(): void {
  const wav = join(scratch, 'ogg-source.wav');
  run('sox', ['-n', '-r', '44100', '-b', '16', '-c', '2', wav, 'synth', '1', 'sine', '523', 'gain', '-6']);
  run('oggenc', ['--quiet', '-q', '0', '-t', 'Vorbis Chime', '-a', 'Metahook Fixtures', '-G', 'Classical', '-o', out('clip.ogg'), wav]);
}

function makeOpus(): void {
  const wav = join(scratch, 'opus-source.wav');
  run('sox', ['-n', '-r', '48000', '-b', '16', '-c', '1', wav, 'synth', '1', 'sine', '392', 'gain', '-6']);
  run('opusenc', ['--quiet', '--bitrate', '24', '--title', 'Opus Beep', '--artist', 'Metahook Fixtures', wav, out('clip.opus')]);
}

// ffmpeg from @ffmpeg-installer (an npm dependency: the extractor's audio normaliser runs it).
function ffmpeg(args: string[]): void {
  run(ffmpegInstaller.path, ['-hide_banner', '-loglevel', 'error', '-y', ...args]);
}

/** 44.1 kHz stereo 16-bit WAV, CD format: what the normaliser must turn into mono 16 kHz. */
function makeStereoWav(): void {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=440:d=0.3:sample_rate=44100', '-f', 'lavfi', '-i', 'sine=f=660:d=0.3:sample_rate=44100',
    '-filter_complex', '[0][1]amerge=inputs=2', '-c:a', 'pcm_s16le', '-metadata', 'title=Stereo Calibration', out('stereo-44k.wav')]);
}

function makeM4a(): void {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=494:d=1:sample_rate=44100', '-ac', '2', '-c:a', 'aac', '-b:a', '48k',
    '-metadata', 'title=AAC Tone', '-metadata', 'artist=Metahook Fixtures', '-f', 'ipod', out('clip.m4a')]);
}

function makeAdtsAac(): void {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=587:d=1:sample_rate=22050', '-c:a', 'aac', '-b:a', '32k', '-f', 'adts', out('clip.aac')]);
}

function makeWebm(): void {
  ffmpeg(['-f', 'lavfi', '-i', 'sine=f=659:d=1:sample_rate=48000', '-c:a', 'libopus', '-b:a', '24k',
    '-metadata', 'title=WebM Opus Tone', '-f', 'webm', out('clip.webm')]);
}

/** A real FLAC header (fLaC + STREAMINFO) over garbage frames: sniffs as FLAC, cannot be decoded. */
function makeCorruptFlac(): void {
  const flac = readFileSync(out('short.flac'));
  const streamInfoEnd = 4 + 4 + 34;
  const garbage = Buffer.alloc(4096);
  for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 73 + 41) & 0xff;
  // Last-metadata-block flag on STREAMINFO, so the garbage is read as audio frames.
  const header = Buffer.from(flac.subarray(0, streamInfoEnd));
  header[4] = header[4]! | 0x80;
  writeFileSync(out('corrupt.flac'), Buffer.concat([header, garbage]));
}

// ---------- not media ----------

/** The smallest well-formed one-page PDF, with a correct xref table. */
function makePdf(): void {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    '<< /Length 44 >>\nstream\nBT /F1 18 Tf 20 40 Td (Not an image) Tj ET\nendstream',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, index) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${index + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xrefAt = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
  writeFileSync(out('document.pdf'), pdf, 'latin1');
  // Same bytes under an image name: the extension says image, the bytes say PDF.
  copyFileSync(out('document.pdf'), out('disguised.jpg'));
}

function makeNotes(): void {
  writeFileSync(out('notes.txt'), 'Metahook fixture notes.\nThis is plain UTF-8 text, not media: sniffing must reject it.\n');
}

// `--ffmpeg-only`: just the fixtures ffmpeg makes (needs none of the Debian tools).
const ffmpegOnly = process.argv.includes('--ffmpeg-only');
if (!ffmpegOnly) {
  await makePhotoWithIptc();
  await makeGraphicWithAlpha();
  await makeAnimation();
  await makeWebp();
  makeToneWav();
  makeTaggedMp3();
  makeFlac();
  makeOggVorbis();
  makeOpus();
}
makeStereoWav();
makeM4a();
makeAdtsAac();
makeWebm();
makeCorruptFlac();
if (!ffmpegOnly) {
  makePdf();
  makeNotes();
}
rmSync(scratch, { recursive: true, force: true });

for (const name of [
  'photo-iptc.jpg', 'graphic.png', 'animation.gif', 'image.webp', 'tone.wav', 'tagged.mp3',
  'short.flac', 'clip.ogg', 'clip.opus', 'stereo-44k.wav', 'clip.m4a', 'clip.aac', 'clip.webm', 'corrupt.flac', 'document.pdf', 'disguised.jpg', 'notes.txt',
]) {
  const size = statSync(out(name)).size;
  if (size > MAX_FIXTURE_BYTES) throw new Error(`${name} is ${size} bytes; fixtures must stay under ${MAX_FIXTURE_BYTES}`);
  console.log(`${name.padEnd(16)} ${String(size).padStart(6)} bytes  ${readFileSync(out(name)).subarray(0, 4).toString('hex')}`);
}
