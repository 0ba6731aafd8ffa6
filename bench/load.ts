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
  /**
   * 99th percentile of how late the generator itself sent a call after its due time (its timer's granularity and
   * its own event loop): part of every latency above, the same for any server, so the harness's share of a tail.
   */
  sentLateP99: number;
  errors: number;
  /** Failure messages (or status codes) by count, to tell throttling from refusals. */
  failures: Record<string, number>;
}

/** A call that resolves when answered and rejects when it failed. */
export type Call = () => Promise<void>;

/**
 * The fixed-rate generator's longest sleep between looks at its schedule and at the answers once the next call
 * is near: an answer that arrives during a sleep is timed up to this much late. At 1,000 calls per second the
 * looks cost about 15 % of a core.
 */
const PACING_SLEEP_MS = 0.1;
/** How late a timer may wake: it is set this much before the next call is due. */
const TIMER_SLACK_MS = 1.5;
/** Never written: waiting on it is a sleep with sub-millisecond resolution that does not spin. */
const pacingCell = new Int32Array(new SharedArrayBuffer(4));

/** What one fixed-rate run observed, before it is summarised (several runs of one call can be merged). */
interface Samples {
  latencies: number[];
  sentLate: number[];
  errors: number;
  failures: Record<string, number>;
  seconds: number;
}

function recordFailure(failures: Record<string, number>, error: unknown): void {
  const message = (error instanceof Error ? error.message : String(error)).slice(0, 200);
  failures[message] = (failures[message] ?? 0) + 1;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function percentiles(latencies: number[]) {
  latencies.sort((x, y) => x - y);
  return { p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99) };
}

function summarise(runs: Samples[]): RateResult {
  const latencies = runs.flatMap((r) => r.latencies);
  const sentLate = runs.flatMap((r) => r.sentLate).sort((x, y) => x - y);
  const failures: Record<string, number> = {};
  for (const run of runs) {
    for (const [message, count] of Object.entries(run.failures))
      failures[message] = (failures[message] ?? 0) + count;
  }
  const seconds = runs.reduce((sum, r) => sum + r.seconds, 0);
  return {
    throughput: latencies.length / seconds,
    ...percentiles(latencies),
    sentLateP99: quantile(sentLate, 0.99),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    failures,
  };
}

async function fixedRateSamples(call: Call, rate: number, seconds: number): Promise<Samples> {
  const total = Math.round(rate * seconds);
  const samples: Samples = { latencies: [], sentLate: [], errors: 0, failures: {}, seconds: 0 };
  const inflight: Promise<void>[] = [];
  const start = performance.now();
  const one = async (due: number) => {
    samples.sentLate.push(performance.now() - due);
    try {
      await call();
      samples.latencies.push(performance.now() - due);
    } catch (error) {
      samples.errors += 1;
      recordFailure(samples.failures, error);
    }
  };
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) inflight.push(one(start + (sent / rate) * 1000));
    // A timer wakes a millisecond or more late (its granularity), and that lateness would count in every
    // latency: far from the next call a timer brings us close, then sleeps of at most PACING_SLEEP_MS, each
    // followed by a turn of the event loop to take in the answers.
    const untilNext = start + (sent / rate) * 1000 - performance.now();
    if (untilNext > TIMER_SLACK_MS + 1) {
      await new Promise((resolve) => setTimeout(resolve, untilNext - TIMER_SLACK_MS));
      continue;
    }
    if (untilNext > 0) Atomics.wait(pacingCell, 0, 0, Math.min(PACING_SLEEP_MS, untilNext));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(inflight);
  samples.seconds = (performance.now() - start) / 1000;
  return samples;
}

/** `rate` calls per second for `seconds`, on schedule; latencies in milliseconds from each call's due time. */
export async function fixedRate(call: Call, rate: number, seconds: number): Promise<RateResult> {
  return summarise([await fixedRateSamples(call, rate, seconds)]);
}

/**
 * Each of `calls` at `rate` calls per second for `seconds` in all, measured in turn in `slices` short slices
 * (A B C, A B C, …) rather than one after the other, so that a disturbance of the machine (a collector's pause,
 * a cluster component's periodic work, the cold tail of whatever is measured first) falls on every call alike
 * instead of on whichever ran when it happened. `around` runs before and after each slice (outside its timing).
 */
export async function interleavedFixedRate<Name extends string>(
  calls: Record<Name, Call>,
  rate: number,
  seconds: number,
  slices: number,
  around?: (name: Name, moment: 'before' | 'after') => Promise<void>,
): Promise<Record<Name, RateResult>> {
  const names = Object.keys(calls) as Name[];
  const runs = new Map<Name, Samples[]>(names.map((name) => [name, []]));
  for (let slice = 0; slice < slices; slice++) {
    for (const name of names) {
      await around?.(name, 'before');
      runs.get(name)!.push(await fixedRateSamples(calls[name], rate, seconds / slices));
      await around?.(name, 'after');
    }
  }
  return Object.fromEntries(names.map((name) => [name, summarise(runs.get(name)!)])) as Record<
    Name,
    RateResult
  >;
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
  // A closed loop has no due times: every call is sent the moment the previous one is answered.
  return {
    throughput: latencies.length / elapsed,
    ...percentiles(latencies),
    sentLateP99: 0,
    errors,
    failures,
  };
}
