import { execFile } from 'node:child_process';
import {
  existsSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { NodeLayout, NodePaths } from './layout.ts';

const execFileAsync = promisify(execFile);

/** Runs a host command; a failure names the command and carries its stderr. */
export async function hostCommand(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim() ?? '';
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || (error as Error).message}`, {
      cause: error,
    });
  }
}

/** Kernel settings the node's daemons change on the host (kubelet's kernel defaults, conntrack): restored on stop. */
export const hostSysctls = [
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
  'net/ipv4/ip_forward',
  'net/netfilter/nf_conntrack_max',
  'net/bridge/bridge-nf-call-iptables',
] as const;

/** Host paths the node's daemons use outside its root (hard-coded in them); removed when they did not exist before. */
export const hostPaths = ['/run/containerd', '/var/log/containers', '/var/lib/cni'] as const;

/** What the host looked like before the first node started: kept on disk so a crashed run can still be undone. */
export interface HostState {
  sysctls: Record<string, string>;
  absentPaths: string[];
}

function readSysctl(name: string): string | undefined {
  try {
    return readFileSync(path.join('/proc/sys', name), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * Records the host's state once: if a file from an earlier, crashed run is there, it holds the true original and
 * is kept.
 */
export function recordHostState(paths: NodePaths): HostState {
  if (existsSync(paths.hostState)) return JSON.parse(readFileSync(paths.hostState, 'utf8')) as HostState;
  const sysctls: Record<string, string> = {};
  for (const name of hostSysctls) {
    const value = readSysctl(name);
    if (value !== undefined) sysctls[name] = value;
  }
  const state: HostState = { sysctls, absentPaths: hostPaths.filter((p) => !existsSync(p)) };
  writeFileSync(paths.hostState, JSON.stringify(state, null, 2));
  return state;
}

/** What {@link cleanHost} found and undid; printed so a user sees that leftovers of a crashed run were removed. */
export interface CleanupReport {
  killedProcesses: number;
  unmounted: number;
  removedNetns: string[];
  removedCgroups: number;
  restoredSysctls: string[];
  removedPaths: string[];
}

/** True when nothing of the node is on the host (the teardown test asserts this). */
export function isCleanupEmpty(report: CleanupReport): boolean {
  return (
    report.killedProcesses === 0 &&
    report.unmounted === 0 &&
    report.removedNetns.length === 0 &&
    report.removedCgroups === 0 &&
    report.restoredSysctls.length === 0 &&
    report.removedPaths.length === 0
  );
}

/**
 * Removes everything the node puts on the host, found by looking rather than by memory, so the same code ends a
 * normal run and the leftovers of one that died (kill -9, a crashed test runner): processes in the node's network
 * namespace or its Pod cgroups, mounts under its root and its Pods' network namespaces, the namespace itself (and
 * with it every link, route and iptables rule inside), Pod cgroups, changed sysctls and the paths it created.
 */
export async function cleanHost(layout: NodeLayout, paths: NodePaths): Promise<CleanupReport> {
  const report: CleanupReport = {
    killedProcesses: 0,
    unmounted: 0,
    removedNetns: [],
    removedCgroups: 0,
    restoredSysctls: [],
    removedPaths: [],
  };
  report.killedProcesses = await killNodeProcesses(layout);
  report.unmounted = await unmountUnder([layout.root, '/run/containerd', '/run/netns/cni-']);
  report.removedNetns = await removeNetns(layout);
  report.removedCgroups = removePodCgroups();
  // Mounts can outlive their processes by a moment (lazy unmounts); a second pass catches them.
  report.unmounted += await unmountUnder([layout.root, '/run/containerd']);
  report.removedPaths = removeCreatedPaths(layout, paths);
  report.restoredSysctls = restoreSysctls(paths);
  rmSync(layout.root, { recursive: true, force: true });
  return report;
}

function netnsInode(layout: NodeLayout): number | undefined {
  try {
    return statSync(`/run/netns/${layout.netns}`).ino;
  } catch {
    return undefined;
  }
}

const podCgroupNames = ['kubepods', 'k8s.io'];

function cgroupHierarchies(): string[] {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return [];
  const dirs = readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(root, entry.name));
  // A pure cgroup v2 host has the controllers' files directly in the root.
  return existsSync(path.join(root, 'cgroup.controllers')) ? [root, ...dirs] : dirs;
}

function podCgroupDirs(): string[] {
  const found: string[] = [];
  for (const hierarchy of cgroupHierarchies()) {
    for (const name of podCgroupNames) {
      const dir = path.join(hierarchy, name);
      if (existsSync(dir)) found.push(dir);
    }
  }
  return found;
}

function processesIn(cgroupDir: string, into: Set<number>): void {
  let entries;
  try {
    entries = readdirSync(cgroupDir, { withFileTypes: true });
  } catch {
    return;
  }
  try {
    for (const line of readFileSync(path.join(cgroupDir, 'cgroup.procs'), 'utf8').split('\n')) {
      const pid = Number(line);
      if (pid > 0) into.add(pid);
    }
  } catch {
    // Not a cgroup directory.
  }
  for (const entry of entries) if (entry.isDirectory()) processesIn(path.join(cgroupDir, entry.name), into);
}

function nodeProcesses(layout: NodeLayout): Set<number> {
  const pids = new Set<number>();
  const inode = netnsInode(layout);
  if (inode !== undefined) {
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      if (!(pid > 0) || pid === process.pid) continue;
      try {
        if (readlinkSync(`/proc/${pid}/ns/net`) === `net:[${inode}]`) pids.add(pid);
      } catch {
        // Gone meanwhile.
      }
    }
  }
  for (const dir of podCgroupDirs()) processesIn(dir, pids);
  // containerd's shims outlive containerd; they are recognised by the node's socket on their command line.
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!(pid > 0)) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(layout.root) && cmdline.includes('containerd-shim')) pids.add(pid);
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

async function killNodeProcesses(layout: NodeLayout): Promise<number> {
  let killed = 0;
  // Killing can reveal more (a shim's children); a few rounds until nothing is left.
  for (let round = 0; round < 20; round++) {
    const pids = nodeProcesses(layout);
    if (pids.size === 0) return killed;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // Already gone.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const left = [...nodeProcesses(layout)];
  if (left.length > 0) throw new Error(`node processes survive SIGKILL: ${left.join(', ')}`);
  return killed;
}

function mountPoints(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[1]?.replace(/\\040/g, ' ') ?? '')
    .filter(Boolean);
}

async function unmountUnder(prefixes: string[]): Promise<number> {
  const targets = mountPoints()
    .filter((point) => prefixes.some((prefix) => point === prefix || point.startsWith(prefix)))
    .reverse();
  let count = 0;
  for (const target of targets) {
    try {
      await hostCommand('umount', ['-l', target]);
      count++;
    } catch {
      // Already gone (a parent's lazy unmount took it).
    }
  }
  return count;
}

async function removeNetns(layout: NodeLayout): Promise<string[]> {
  const removed: string[] = [];
  const names = existsSync('/run/netns') ? readdirSync('/run/netns') : [];
  for (const name of names.filter((n) => n === layout.netns || n.startsWith('cni-'))) {
    try {
      await hostCommand('ip', ['netns', 'delete', name]);
    } catch {
      rmSync(path.join('/run/netns', name), { force: true });
    }
    removed.push(name);
  }
  return removed;
}

/** cgroupfs directories hold only virtual files: rmdir, deepest first, is how they go. */
function removeCgroupTree(dir: string): number {
  let removed = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removed += removeCgroupTree(path.join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
    removed++;
  } catch {
    // Already gone.
  }
  return removed;
}

function removePodCgroups(): number {
  let removed = 0;
  for (const dir of podCgroupDirs()) removed += removeCgroupTree(dir);
  return removed;
}

function removeCreatedPaths(layout: NodeLayout, paths: NodePaths): string[] {
  const removed: string[] = [];
  // kubelet links every container's log into /var/log/containers, whatever its podLogsDir.
  if (existsSync('/var/log/containers')) {
    for (const name of readdirSync('/var/log/containers')) {
      const link = path.join('/var/log/containers', name);
      try {
        if (readlinkSync(link).startsWith(layout.root)) {
          rmSync(link, { force: true });
          removed.push(link);
        }
      } catch {
        // Not a link.
      }
    }
  }
  const state = readHostState(paths);
  for (const absent of state?.absentPaths ?? []) {
    if (existsSync(absent)) {
      rmSync(absent, { recursive: true, force: true });
      removed.push(absent);
    }
  }
  if (existsSync(layout.root)) {
    const entries = readdirSync(layout.root).filter(
      (entry) => path.join(layout.root, entry) !== paths.hostState,
    );
    for (const entry of entries) rmSync(path.join(layout.root, entry), { recursive: true, force: true });
    if (entries.length > 0) removed.push(layout.root);
  }
  return removed;
}

function readHostState(paths: NodePaths): HostState | undefined {
  try {
    return JSON.parse(readFileSync(paths.hostState, 'utf8')) as HostState;
  } catch {
    return undefined;
  }
}

function restoreSysctls(paths: NodePaths): string[] {
  const state = readHostState(paths);
  if (!state) return [];
  const restored: string[] = [];
  for (const [name, value] of Object.entries(state.sysctls)) {
    if (readSysctl(name) === value) continue;
    try {
      writeFileSync(path.join('/proc/sys', name), value);
      restored.push(`${name.replaceAll('/', '.')}=${value}`);
    } catch {
      // Read-only here (another namespace owns it).
    }
  }
  rmSync(paths.hostState, { force: true });
  return restored;
}
