// Test support: how long the event loop was held while some work ran, read as the longest gap
// between ticks of a short interval (work on a worker thread keeps it short; on the main thread not).

/** Starts ticking every `intervalMs`; stop() ends it and returns the longest gap seen, in ms. */
export function watchTimerGaps(intervalMs = 10): { stop(): number } {
  let longestGapMs = 0;
  let last = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    longestGapMs = Math.max(longestGapMs, now - last);
    last = now;
  }, intervalMs);
  return {
    stop() {
      clearInterval(ticker);
      return longestGapMs;
    },
  };
}
