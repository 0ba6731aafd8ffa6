/** Where progress goes: stderr, so stdout stays clean for `-o json`. */
export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Progress of one transfer. */
export interface Progress {
  /** Bytes already done before this run (resumed parts). */
  skip(bytes: number): void;
  advance(bytes: number): void;
  finish(): void;
}

/** `1.5 GiB`, `16.0 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function rate(bytes: number, elapsedMs: number): string {
  return elapsedMs > 0 ? `${formatBytes((bytes * 1000) / elapsedMs)}/s` : '-';
}

/** The plain line printed when stderr is not a terminal: `upload model.bin: 48.0 MiB / 100.0 MiB (48%), 12.0 MiB/s`. */
export function formatProgressLine(
  label: string,
  done: number,
  total: number,
  sentMs: number,
  sentBytes: number,
): string {
  const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
  return `${label}: ${formatBytes(done)} / ${formatBytes(total)} (${percent}%), ${rate(sentBytes, sentMs)}`;
}

/** The terminal bar: `upload model.bin [#########---------]  48% 48.0 MiB/100.0 MiB 12.0 MiB/s`. */
export function formatProgressBar(
  label: string,
  done: number,
  total: number,
  sentMs: number,
  sentBytes: number,
  columns = 80,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 1;
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${rate(sentBytes, sentMs)}`;
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${tail}`;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  label: string;
  total: number;
  sink: ProgressSink;
  /** Injected clock (ms). */
  now?: () => number;
  /** Seconds between plain lines when the sink is not a terminal (default 5). */
  lineIntervalMs?: number;
  /** Print nothing (`--quiet`). */
  quiet?: boolean;
}

/**
 * A bar redrawn in place on a terminal; otherwise (CI logs, pipes) one line every few seconds and a final
 * one, so logs stay short but show that the transfer is alive.
 */
export function createProgress(options: ProgressOptions): Progress {
  const now = options.now ?? Date.now;
  const started = now();
  const interval = options.lineIntervalMs ?? 5000;
  const tty = options.sink.isTTY === true;
  let done = 0;
  let sent = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  const draw = (final: boolean) => {
    if (options.quiet) return;
    const elapsed = now() - started;
    if (tty) {
      if (!final && now() - lastDraw < 100) return;
      lastDraw = now();
      const bar = formatProgressBar(
        options.label,
        done,
        options.total,
        elapsed,
        sent,
        options.sink.columns ?? 80,
      );
      options.sink.write(`\r${bar}${final ? '\n' : ''}`);
      return;
    }
    if (!final && now() - lastDraw < interval) return;
    lastDraw = now();
    options.sink.write(`${formatProgressLine(options.label, done, options.total, elapsed, sent)}\n`);
  };
  return {
    skip(bytes) {
      done += bytes;
    },
    advance(bytes) {
      done += bytes;
      sent += bytes;
      draw(false);
    },
    finish() {
      draw(true);
    },
  };
}
