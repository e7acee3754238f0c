// Audio normaliser helper: audio-normaliser -> here -> the ffmpeg program. Runs one ffmpeg
// over pipes (bytes in on stdin, output on stdout: collected, or streamed to a sink that can
// hold ffmpeg back while it catches up) inside hard limits: a wall-clock budget,
// a cap on output bytes and on kept stderr, then SIGKILL. A hostile or broken file can cost
// at most the budget, never a hung extractor; ffmpeg's own memory stays in its process.
import { spawn } from 'node:child_process';

export interface FfmpegRun {
  readonly ffmpegPath: string;
  readonly args: readonly string[];
  readonly input: Uint8Array;
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  /** Called with each stderr line as it arrives; return a reason to stop ffmpeg early. */
  readonly inspectStderrLine?: (line: string) => string | undefined;
  /**
   * Where stdout goes as it arrives, instead of being collected (the outcome's stdout is then
   * empty). A false write() pauses reading ffmpeg's stdout (ffmpeg blocks on the pipe) until 'drain'.
   */
  readonly sink?: OutputSink;
}

/** The part of a Writable's contract runFfmpeg uses. */
export interface OutputSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export type FfmpegOutcome =
  | { readonly kind: 'exited'; readonly code: number; readonly stdout: Buffer; readonly stderr: string }
  | { readonly kind: 'timed_out' | 'output_too_large' | 'spawn_failed'; readonly stderr: string; readonly error?: Error }
  | { readonly kind: 'stopped'; readonly reason: string; readonly stderr: string };

const MAX_STDERR_CHARS = 16_384;

export function runFfmpeg(run: FfmpegRun): Promise<FfmpegOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let stderr = '';
    let pendingLine = '';
    const chunks: Buffer[] = [];
    let outputBytes = 0;

    const child = spawn(run.ffmpegPath, [...run.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // No inherited secrets: ffmpeg needs nothing from the function's environment.
      env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' },
      windowsHide: true,
    });

    const finish = (outcome: FfmpegOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const stop = (outcome: FfmpegOutcome): void => {
      child.kill('SIGKILL');
      finish(outcome);
    };

    const timer = setTimeout(() => stop({ kind: 'timed_out', stderr }), run.timeoutMs);

    child.on('error', (error) => finish({ kind: 'spawn_failed', stderr, error }));
    child.stdout.on('data', (chunk: Buffer) => {
      outputBytes += chunk.length;
      if (outputBytes > run.maxOutputBytes) return stop({ kind: 'output_too_large', stderr });
      if (!run.sink) return void chunks.push(chunk);
      if (!run.sink.write(chunk)) {
        child.stdout.pause();
        run.sink.once('drain', () => child.stdout.resume());
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      if (stderr.length < MAX_STDERR_CHARS) stderr += text.slice(0, MAX_STDERR_CHARS - stderr.length);
      if (!run.inspectStderrLine) return;
      const lines = (pendingLine + text).split(/\r?\n|\r/);
      pendingLine = (lines.pop() ?? '').slice(-4096);
      for (const line of lines) {
        const reason = run.inspectStderrLine(line);
        if (reason !== undefined) return stop({ kind: 'stopped', reason, stderr });
      }
    });
    child.on('close', (code) => {
      finish({ kind: 'exited', code: code ?? -1, stdout: Buffer.concat(chunks), stderr });
    });

    // ffmpeg may stop reading early (it failed, or we stopped it): EPIPE is expected then.
    child.stdin.on('error', () => undefined);
    child.stdin.end(run.input);
  });
}
