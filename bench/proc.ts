/**
 * What the benchmarks read about processes from /proc (Linux): CPU time, resident memory, and a wait for a set
 * of processes to go idle before a measurement, so one phase does not pay for the aftermath of another.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User plus system CPU seconds a process has used so far (0 once it is gone, or for no pid). */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of those.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** The 1-, 5- and 15-minute load averages as the kernel prints them (`0.42 0.37 0.30`). */
export function loadAverages(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** A process's resident memory now (`VmRSS`) or at its peak (`VmHWM`), in bytes. */
export function residentBytes(pid: number, which: 'now' | 'peak' = 'now'): number {
  const field = which === 'now' ? 'VmRSS' : 'VmHWM';
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]) * 1024;
}

/**
 * Waits until the processes `pids()` names use under `idleCpuSeconds` of CPU in a second, at most `timeoutMs`;
 * returns false (and measures anyway) when they never settle.
 */
export async function settle(
  pids: () => (number | undefined)[],
  { idleCpuSeconds = 0.15, timeoutMs = 120_000 }: { idleCpuSeconds?: number; timeoutMs?: number } = {},
): Promise<boolean> {
  const total = () => pids().reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  const deadline = performance.now() + timeoutMs;
  let last = total();
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const now = total();
    if (now - last < idleCpuSeconds) return true;
    last = now;
  }
  return false;
}
