/**
 * CPU time of the local node's Pods, read from their cgroups (the node's kubelet uses the cgroupfs driver: one
 * directory `pod<uid>` per Pod under `kubepods`, with its QoS class in between for burstable and best-effort Pods),
 * so a benchmark can say which component a call's CPU went to. Pod CPU includes every container of the Pod (an
 * Istio sidecar with its workload).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const POD_DIR = /^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** Where Pod cgroups are on this host: cgroup v1's cpuacct hierarchy, or the unified v2 one. */
export function podCgroupRoots(cgroupRoot = '/sys/fs/cgroup'): { dir: string; version: 1 | 2 }[] {
  const roots: { dir: string; version: 1 | 2 }[] = [];
  for (const hierarchy of ['cpuacct', 'cpu,cpuacct']) {
    const dir = path.join(cgroupRoot, hierarchy, 'kubepods');
    if (existsSync(dir)) roots.push({ dir, version: 1 });
  }
  if (existsSync(path.join(cgroupRoot, 'cgroup.controllers'))) {
    roots.push({ dir: path.join(cgroupRoot, 'kubepods'), version: 2 });
  }
  return roots.slice(0, 1);
}

function usageSeconds(dir: string, version: 1 | 2): number | undefined {
  try {
    if (version === 1) return Number(readFileSync(path.join(dir, 'cpuacct.usage'), 'utf8').trim()) / 1e9;
    const line = readFileSync(path.join(dir, 'cpu.stat'), 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('usage_usec '));
    return line === undefined ? undefined : Number(line.split(' ')[1]) / 1e6;
  } catch {
    return undefined; // the Pod went away meanwhile
  }
}

/** CPU seconds each Pod has used so far, by Pod UID; empty where no Pod cgroups are found. */
export function podCpuSeconds(roots = podCgroupRoots()): Map<string, number> {
  const found = new Map<string, number>();
  const walk = (dir: string, version: 1 | 2, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (!entry.isDirectory()) continue;
      const pod = POD_DIR.exec(entry.name);
      if (pod) {
        const seconds = usageSeconds(path.join(dir, entry.name), version);
        if (seconds !== undefined) found.set(pod[1]!, seconds);
      } else if (depth < 2) walk(path.join(dir, entry.name), version, depth + 1);
    }
  };
  for (const root of roots) walk(root.dir, root.version, 0);
  return found;
}

/** CPU seconds per Pod UID between two readings (Pods present in both). */
export function cpuSince(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const used = new Map<string, number>();
  for (const [uid, seconds] of after) {
    const start = before.get(uid);
    if (start !== undefined) used.set(uid, seconds - start);
  }
  return used;
}
