import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { defaultStateRoot, nodeLayout } from '../../src/localcluster/index.ts';
import type { LocalNodeFacts } from '../../src/platform/main.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { currentNode, stopNode } from './support.ts';

const execFileAsync = promisify(execFile);
const run = async (command: string, args: string[]) => (await execFileAsync(command, args)).stdout;
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** Nothing of a stopped node is left on the host: processes, namespaces, links, chains, mounts, cgroups, files. */
async function expectHostClean(node: { root: string; netns: string }): Promise<void> {
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
}

interface PodList {
  items: {
    metadata: { name: string; namespace: string };
    status?: { conditions?: { type: string; status: string }[] };
  }[];
}

describe('stopping the local node', () => {
  it('leaves no process, network namespace, link, iptables chain, mount or cgroup of it on the host', async () => {
    const node = await currentNode();
    const { seconds } = await stopNode();
    process.stderr.write(`[e2e] node teardown took ${seconds.toFixed(1)} s\n`);
    await expectHostClean(node);
  });

  it('npm start brings up the node with Istio, Authorino and tenantmesh Ready, and Ctrl-C restores the host', async () => {
    const runDir = mkdtempSync(path.join(os.tmpdir(), 'tenantmesh-start-'));
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/platform/main.ts',
        '--api-port',
        '0',
        '--gateway-port',
        '0',
        '--run-dir',
        runDir,
        // Another test run on this machine may hold the node now: queue behind it, as the e2e setup does.
        '--node-lock-wait',
        '1800',
      ],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const started = Date.now();
    let facts: LocalNodeFacts;
    try {
      await waitFor(() => output.includes('Press Ctrl-C') || child.exitCode !== null, {
        description: 'npm start to bring the node and tenantmesh up',
        timeoutMs: 2_400_000,
        intervalMs: 500,
      });
      expect(child.exitCode, output).toBeNull();
      process.stderr.write(`[e2e] npm start up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      facts = JSON.parse(readFileSync(path.join(runDir, 'platform.json'), 'utf8')) as LocalNodeFacts;
      for (const printed of [facts.apiUrl, facts.gatewayAddress, facts.kubeconfig, facts.demoAdminTokenFile])
        expect(output).toContain(printed);

      const pods = JSON.parse(
        await run(facts.kubectl, ['--kubeconfig', facts.kubeconfig, 'get', 'pods', '-A', '-o', 'json']),
      ) as PodList;
      const ready = pods.items
        .filter((pod) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
        .map((pod) => `${pod.metadata.namespace}/${pod.metadata.name}`);
      for (const expected of [
        /^istio-system\/istiod-/,
        /^istio-system\/istio-ingressgateway-/,
        /^authorino\/authorino-/,
        /^kube-system\/coredns-/,
        /^tenantmesh-system\/tenantmesh-operator-/,
        /^tenantmesh-system\/tenantmesh-api-/,
      ]) {
        expect(
          ready.some((pod) => expected.test(pod)),
          `${expected.source} Ready among ${ready.join(', ')}`,
        ).toBe(true);
      }

      // The printed token is a platform admin's: the API (a Pod, reached through the forwarded port) lists the
      // demo tenant npm start created through it.
      const token = readFileSync(facts.demoAdminTokenFile, 'utf8');
      const response = await fetch(`${facts.apiUrl}/v1/tenants`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      const tenants = (await response.json()) as { items: { name: string }[] };
      expect(tenants.items.map((t) => t.name)).toContain(facts.demoTenant);
      expect(output).not.toContain(token);
      expect(output).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGINT');
    }
    expect(await exited, output).toBe(0);
    expect(output).toContain('Stopped.');
    await expectHostClean({ root: nodeLayout(defaultStateRoot()).root, netns: facts.networkNamespace });
  }, 2_700_000);
});
