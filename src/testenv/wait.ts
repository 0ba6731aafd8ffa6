/** Options for {@link waitFor}: tests and start-up wait on conditions with a deadline, never on fixed sleeps. */
export interface WaitOptions {
  /** What is being waited for, used in the timeout error. */
  description: string;
  timeoutMs: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or fails with the last error seen once
 * the deadline passes.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 100;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? `: ${lastError.message}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.description}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}
