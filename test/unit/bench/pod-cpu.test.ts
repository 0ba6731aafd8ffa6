import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cpuSince, podCgroupRoots, podCpuSeconds } from '../../../bench/pod-cpu.ts';

const uid = (n: number) => `0000000${n}-1111-2222-3333-444444444444`;

describe("the node's Pod CPU, read from cgroups", () => {
  let root = '';
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const file = (relative: string, content: string) => {
    mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
    writeFileSync(path.join(root, relative), content);
  };

  it('reads cgroup v1 cpuacct.usage (ns) of each pod<uid>, under its QoS class or not, and not its containers', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pod-cpu-'));
    file(`cpuacct/kubepods/pod${uid(1)}/cpuacct.usage`, '2500000000\n');
    file(`cpuacct/kubepods/pod${uid(1)}/abc123/cpuacct.usage`, '999\n');
    file(`cpuacct/kubepods/burstable/pod${uid(2)}/cpuacct.usage`, '500000000\n');
    file(`cpuacct/kubepods/besteffort/pod${uid(3)}/cpuacct.usage`, '0\n');
    file('cpuacct/kubepods/cpuacct.usage', '123\n');
    const roots = podCgroupRoots(root);
    expect(roots).toEqual([{ dir: path.join(root, 'cpuacct/kubepods'), version: 1 }]);
    expect(podCpuSeconds(roots)).toEqual(
      new Map([
        [uid(1), 2.5],
        [uid(2), 0.5],
        [uid(3), 0],
      ]),
    );
  });

  it('reads cgroup v2 cpu.stat usage_usec', () => {
    root = mkdtempSync(path.join(os.tmpdir(), 'pod-cpu-'));
    file('cgroup.controllers', 'cpu memory\n');
    file(`kubepods/burstable/pod${uid(4)}/cpu.stat`, 'usage_usec 1500000\nuser_usec 1000000\n');
    expect(podCpuSeconds(podCgroupRoots(root))).toEqual(new Map([[uid(4), 1.5]]));
  });

  it('counts only Pods present before and after', () => {
    const used = cpuSince(
      new Map([
        [uid(1), 1],
        [uid(2), 2],
      ]),
      new Map([
        [uid(1), 1.25],
        [uid(3), 9],
      ]),
    );
    expect(used).toEqual(new Map([[uid(1), 0.25]]));
  });
});
