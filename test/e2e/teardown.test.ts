import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { currentNode, stopNode } from './support.ts';

const execFileAsync = promisify(execFile);
const run = async (command: string, args: string[]) => (await execFileAsync(command, args)).stdout;

describe('stopping the local node', () => {
  it('leaves no process, network namespace, link, iptables chain, mount or cgroup of it on the host', async () => {
    const node = await currentNode();
    const { seconds } = await stopNode();
    process.stderr.write(`[e2e] node teardown took ${seconds.toFixed(1)} s\n`);

    const processes = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .flatMap((pid) => {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
          return cmdline.includes(node.root) ? [`${pid}: ${cmdline}`] : [];
        } catch {
          return [];
        }
      });
    expect(processes).toEqual([]);

    const namespaces = await run('ip', ['netns', 'list']);
    expect(namespaces).not.toContain(node.netns);
    expect(namespaces).not.toMatch(/cni-/);

    const links = await run('ip', ['-o', 'link', 'show']);
    expect(links).not.toMatch(/tm-node0|tm-cni0|veth/);

    const chains = (await run('iptables-save', [])).split('\n').filter((line) => /KUBE-|CNI-/.test(line));
    expect(chains).toEqual([]);

    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .filter(
        (line) =>
          line.includes(node.root) || line.includes('/run/netns/cni-') || line.includes('/run/containerd'),
      );
    expect(mounts).toEqual([]);

    const cgroups = readdirSync('/sys/fs/cgroup').filter((hierarchy) =>
      ['kubepods', 'k8s.io'].some((name) => existsSync(`/sys/fs/cgroup/${hierarchy}/${name}`)),
    );
    expect(cgroups).toEqual([]);
    expect(existsSync(node.root)).toBe(false);
  });
});
