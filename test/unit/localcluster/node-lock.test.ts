import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeLayout } from '../../../src/localcluster/layout.ts';
import { takeNodeLock } from '../../../src/localcluster/node.ts';

const owners: ChildProcess[] = [];
afterEach(() => {
  for (const owner of owners.splice(0)) owner.kill('SIGKILL');
});

/** A live process standing in for another run's node owner. */
function liveOwner(): ChildProcess {
  const owner = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  owners.push(owner);
  return owner;
}

const layoutIn = () => nodeLayout(mkdtempSync(path.join(os.tmpdir(), 'node-lock-')));

describe('the one-node-per-machine lock', () => {
  it('is taken, holds our pid, and is released', async () => {
    const layout = layoutIn();
    const release = await takeNodeLock(layout, 0, () => {});
    expect(readFileSync(layout.lockFile, 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(layout.lockFile)).toBe(false);
  });

  it('takes over the lock of a process that is gone (a crashed run)', async () => {
    const layout = layoutIn();
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.on('exit', resolve));
    await takeNodeLock(layout, 0, () => {}).then((release) => release());
    writeFileSync(layout.lockFile, String(gone.pid));
    const release = await takeNodeLock(layout, 0, () => {});
    expect(readFileSync(layout.lockFile, 'utf8')).toBe(String(process.pid));
    release();
  });

  it('refuses at once, naming the owner, when asked not to wait', async () => {
    const layout = layoutIn();
    const owner = liveOwner();
    writeFileSync(layout.lockFile, String(owner.pid));
    await expect(takeNodeLock(layout, 0, () => {})).rejects.toThrow(
      new RegExp(`already running on this machine \\(process ${owner.pid} holds it`),
    );
  });

  it('waits for a running owner to stop, then takes the lock', async () => {
    const layout = layoutIn();
    const owner = liveOwner();
    writeFileSync(layout.lockFile, String(owner.pid));
    const lines: string[] = [];
    const taking = takeNodeLock(layout, 60_000, (line) => lines.push(line));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([
      `[node] waiting for the local node of process ${owner.pid} to stop (one node per machine)`,
    ]);
    owner.kill('SIGKILL');
    const release = await taking;
    expect(readFileSync(layout.lockFile, 'utf8')).toBe(String(process.pid));
    release();
  });

  it('gives up after the deadline, saying how long it waited', async () => {
    const layout = layoutIn();
    const owner = liveOwner();
    writeFileSync(layout.lockFile, String(owner.pid));
    await expect(takeNodeLock(layout, 300, () => {})).rejects.toThrow(/it was not ours within 1 s/);
    expect(readdirSync(`${layout.lockFile}.queue`)).toEqual([]);
  });

  it('serves waiters first come, first served', async () => {
    const layout = layoutIn();
    const owner = liveOwner();
    writeFileSync(layout.lockFile, String(owner.pid));
    // An earlier waiter (another live process) holds the first ticket: we queue behind it.
    const earlier = liveOwner();
    mkdirSync(`${layout.lockFile}.queue`, { recursive: true });
    writeFileSync(
      `${layout.lockFile}.queue/${String(Date.now() - 1000).padStart(15, '0')}-${earlier.pid}`,
      '',
    );
    owner.kill('SIGKILL');
    // The lock is free, but it is the earlier waiter's turn.
    await expect(takeNodeLock(layout, 1_500, () => {})).rejects.toThrow(/another run is queued for it/);
    // Once the earlier waiter is gone (it took its turn, or died), the lock is ours.
    earlier.kill('SIGKILL');
    await new Promise((resolve) => earlier.on('exit', resolve));
    const release = await takeNodeLock(layout, 5_000, () => {});
    expect(readFileSync(layout.lockFile, 'utf8')).toBe(String(process.pid));
    release();
  });
});
