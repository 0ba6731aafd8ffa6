import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import path from 'node:path';

const exitSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

interface Managed {
  name: string;
  child: ChildProcess;
  logPath: string;
  exited: Promise<number | null>;
}

/**
 * Starts the components as separate process groups, keeps each one's output in `<logDir>/<name>.log`, and stops
 * every group on `stopAll()` and on process exit, so an interrupted run leaves nothing behind.
 */
export class ProcessSupervisor {
  private readonly managed: Managed[] = [];
  private readonly onExit = () => this.killAllNow();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    this.killAllNow();
    // Only exit ourselves when nobody else (a test runner, say) handles the signal.
    if (process.listenerCount(signal) <= 1) process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };

  /**
   * @param handleSignals kill every component on SIGINT/SIGTERM/SIGHUP right away (tests); a caller that stops
   *   things in order itself (npm start) passes false and keeps only the last-resort kill on process exit.
   */
  constructor(
    private readonly logDir: string,
    private readonly handleSignals = true,
  ) {
    process.once('exit', this.onExit);
    if (handleSignals) for (const signal of exitSignals) process.on(signal, this.onSignal);
  }

  /**
   * Starts `command` in its own process group; its stdout and stderr go to the component's log file. `user` runs
   * it as another uid/gid (PostgreSQL refuses to run as root).
   */
  start(
    name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
    user?: { uid: number; gid: number },
  ): ChildProcess {
    const logPath = path.join(this.logDir, `${name}.log`);
    const log = createWriteStream(logPath, { flags: 'a' });
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    const exited = new Promise<number | null>((resolve) => {
      child.on('error', (error) => {
        log.write(`\n[supervisor] failed to start ${command}: ${error.message}\n`);
        resolve(-1);
      });
      child.on('exit', (code, signal) => {
        log.write(`\n[supervisor] ${name} exited with ${signal ?? code}\n`);
        resolve(code);
      });
    });
    this.managed.push({ name, child, logPath, exited });
    return child;
  }

  /** True while the named component's process is running. */
  isRunning(name: string): boolean {
    const entry = this.find(name);
    return entry !== undefined && entry.child.exitCode === null && entry.child.signalCode === null;
  }

  /** The named component's process id while it runs (benchmarks read its CPU time from /proc). */
  pid(name: string): number | undefined {
    return this.isRunning(name) ? this.find(name)?.child.pid : undefined;
  }

  /** Stops one component (SIGTERM to its group, SIGKILL after the grace period) and forgets it. */
  async stop(name: string, graceMs = 5_000): Promise<void> {
    const entry = this.find(name);
    if (!entry) return;
    await this.terminate(entry, graceMs);
    this.managed.splice(this.managed.indexOf(entry), 1);
  }

  /** Stops every component, newest first, so dependents stop before what they depend on. */
  async stopAll(graceMs = 5_000): Promise<void> {
    for (const entry of [...this.managed].reverse()) await this.terminate(entry, graceMs);
    this.managed.length = 0;
    process.off('exit', this.onExit);
    if (this.handleSignals) for (const signal of exitSignals) process.off(signal, this.onSignal);
  }

  /** The last lines of a component's log, printed when something fails. */
  tail(name: string, lines = 40): string {
    const entry = this.find(name);
    if (!entry) return '';
    try {
      return readFileSync(entry.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Tails of every component's log, labelled. */
  tails(lines = 40): string {
    return this.managed
      .map((entry) => `----- ${entry.name} (${entry.logPath}) -----\n${this.tail(entry.name, lines)}`)
      .join('\n');
  }

  /** Resolves when the named process exits; rejects immediately if it is unknown. */
  exited(name: string): Promise<number | null> {
    const entry = this.find(name);
    if (!entry) return Promise.reject(new Error(`unknown component ${name}`));
    return entry.exited;
  }

  private find(name: string): Managed | undefined {
    return this.managed.find((entry) => entry.name === name);
  }

  private async terminate(entry: Managed, graceMs: number): Promise<void> {
    if (entry.child.exitCode !== null || entry.child.signalCode !== null) return;
    signalGroup(entry.child, 'SIGTERM');
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
    if ((await Promise.race([entry.exited, timer])) === 'timeout') {
      signalGroup(entry.child, 'SIGKILL');
      await entry.exited;
    }
  }

  private killAllNow(): void {
    for (const entry of this.managed) signalGroup(entry.child, 'SIGKILL');
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is already gone.
  }
}
