/**
 * Load shapes shared by the benchmarks, over any asynchronous call: a fixed request rate (open loop: requests go
 * out on schedule whatever the answers, and latency counts from the scheduled time, so a slow server cannot hide
 * its queueing) and saturation (closed loop: each of `concurrency` callers sends its next request when the
 * previous one is answered).
 */

export interface RateResult {
  /** Answered calls per second over the run. */
  throughput: number;
  p50: number;
  p90: number;
  p99: number;
  errors: number;
  /** Failure messages (or status codes) by count, to tell throttling from refusals. */
  failures: Record<string, number>;
}

/** A call that resolves when answered and rejects when it failed. */
export type Call = () => Promise<void>;

function recordFailure(failures: Record<string, number>, error: unknown): void {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
  failures[message] = (failures[message] ?? 0) + 1;
}

function percentiles(latencies: number[]) {
  latencies.sort((x, y) => x - y);
  const at = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99) };
}

/** `rate` calls per second for `seconds`, on schedule; latencies in milliseconds from each call's due time. */
export async function fixedRate(call: Call, rate: number, seconds: number): Promise<RateResult> {
  const total = Math.round(rate * seconds);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let errors = 0;
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  const one = async (due: number) => {
    try {
      await call();
      latencies.push(performance.now() - due);
    } catch (error) {
      errors += 1;
      recordFailure(failures, error);
    }
  };
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) inflight.push(one(start + (sent / rate) * 1000));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  return { throughput: latencies.length / elapsed, ...percentiles(latencies), errors, failures };
}

/** `concurrency` callers in a closed loop for `seconds`; throughput counts answered calls only. */
export async function saturate(call: Call, concurrency: number, seconds: number): Promise<RateResult> {
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  let errors = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const sent = performance.now();
        try {
          await call();
          latencies.push(performance.now() - sent);
        } catch (error) {
          errors += 1;
          recordFailure(failures, error);
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { throughput: latencies.length / elapsed, ...percentiles(latencies), errors, failures };
}
