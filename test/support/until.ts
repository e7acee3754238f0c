// Test support: waits for something the system does in the background (a status written, a log
// line flushed), polling, and fails with the time waited if it never happens.

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, pollMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
