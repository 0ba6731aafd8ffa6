import { describe, expect, it } from 'vitest';
import {
  createProgress,
  formatBytes,
  formatProgressBar,
  formatProgressLine,
} from '../../../src/cli/progress.ts';
import { captured } from './io.ts';

const MIB = 1024 * 1024;

describe('progress output', () => {
  it('formats byte counts with binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(16 * MIB)).toBe('16.0 MiB');
    expect(formatBytes(1.5 * 1024 * MIB)).toBe('1.5 GiB');
  });

  it('writes plain lines with percentage and rate when stderr is not a terminal', () => {
    expect(formatProgressLine('upload m.bin', 48 * MIB, 100 * MIB, 4000, 48 * MIB)).toBe(
      'upload m.bin: 48.0 MiB / 100.0 MiB (48%), 12.0 MiB/s',
    );
  });

  it('draws a bar that fits the terminal width', () => {
    const bar = formatProgressBar('upload m.bin', 50 * MIB, 100 * MIB, 1000, 50 * MIB, 80);
    expect(bar).toMatch(/^upload m\.bin \[#+-+\] {2}50% 50\.0 MiB\/100\.0 MiB 50\.0 MiB\/s$/);
    expect(bar.length).toBeLessThanOrEqual(80);
  });

  it('prints at most one line per interval in a log, and always a final one', () => {
    let now = 0;
    const sink = captured(false);
    const progress = createProgress({
      label: 'upload f',
      total: 100 * MIB,
      sink,
      now: () => now,
      lineIntervalMs: 5000,
    });
    progress.advance(10 * MIB); // first line at once
    now = 1000;
    progress.advance(10 * MIB); // within the interval: silent
    now = 6000;
    progress.advance(10 * MIB);
    progress.advance(70 * MIB);
    progress.finish();
    expect(sink.text.split('\n').filter(Boolean)).toEqual([
      'upload f: 10.0 MiB / 100.0 MiB (10%), -',
      'upload f: 30.0 MiB / 100.0 MiB (30%), 5.0 MiB/s',
      'upload f: 100.0 MiB / 100.0 MiB (100%), 16.7 MiB/s',
    ]);
  });

  it('redraws in place on a terminal and counts resumed bytes as done but not as sent', () => {
    let now = 0;
    const sink = captured(true);
    const progress = createProgress({ label: 'up', total: 100, sink, now: () => now });
    progress.skip(50);
    now = 1000;
    progress.advance(50);
    progress.finish();
    expect(sink.text.startsWith('\r')).toBe(true);
    expect(sink.text).toContain('100% 100 B/100 B 50 B/s');
    expect(sink.text.endsWith('\n')).toBe(true);
  });

  it('prints nothing when quiet', () => {
    const sink = captured(false);
    const progress = createProgress({ label: 'up', total: 10, sink, quiet: true });
    progress.advance(10);
    progress.finish();
    expect(sink.text).toBe('');
  });
});
