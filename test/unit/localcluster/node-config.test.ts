import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { renderClusterDns } from '../../../src/localcluster/cluster-dns.ts';
import { nodeLayout, nodePaths } from '../../../src/localcluster/layout.ts';
import { componentVersions } from '../../../src/testenv/versions.ts';
import {
  renderCniConflist,
  renderContainerdConfig,
  renderCorefile,
  renderKubeletConfig,
  renderKubeProxyConfig,
} from '../../../src/localcluster/node-config.ts';

const layout = nodeLayout('/state');
const paths = nodePaths(layout);

describe('the local node configuration', () => {
  it('matches the golden containerd config', async () => {
    await expect(
      renderContainerdConfig(paths, {
        sandboxImage: 'tenantmesh.local/pause:0123',
        cniBinDir: '/usr/lib/cni',
      }),
    ).toMatchFileSnapshot('__golden__/containerd.toml');
  });

  it('lets containerd start sandboxes without lowering oom_score_adj or AppArmor', () => {
    const config = renderContainerdConfig(paths, { sandboxImage: 'p', cniBinDir: '/cni' });
    expect(config).toContain('restrict_oom_score_adj = true');
    expect(config).toContain('disable_apparmor = true');
    expect(config).toContain('SystemdCgroup = false');
  });

  it('matches the golden CNI network list', async () => {
    await expect(renderCniConflist(layout, paths)).toMatchFileSnapshot('__golden__/cni.conflist');
  });

  it('keeps the CNI IPAM state under the node root', () => {
    const conflist = JSON.parse(renderCniConflist(layout, paths)) as {
      plugins: { ipam?: { dataDir: string } }[];
    };
    expect(conflist.plugins[0]?.ipam?.dataDir.startsWith(layout.root)).toBe(true);
  });

  it('matches the golden kubelet config', async () => {
    await expect(
      renderKubeletConfig(layout, paths, { caFile: '/state/node/pki/ca.crt' }),
    ).toMatchFileSnapshot('__golden__/kubelet-config.yaml');
  });

  it('matches the golden kube-proxy config', async () => {
    await expect(renderKubeProxyConfig(layout, { kubeconfig: '/k' })).toMatchFileSnapshot(
      '__golden__/kube-proxy-config.yaml',
    );
  });

  it('matches the golden cluster DNS objects', async () => {
    await expect(stringify(renderClusterDns(layout, 'tenantmesh.local/coredns:0123'))).toMatchFileSnapshot(
      '__golden__/cluster-dns.yaml',
    );
  });

  it('uses exactly the CoreDNS plugins provisioning compiles in', () => {
    const directives = renderCorefile(layout)
      .split('\n')
      .filter((line) => /^ {4}[a-z_0-9]+/.test(line))
      .map((line) => line.trim().split(/\s+/)[0]);
    const compiled = componentVersions().COREDNS_PLUGINS?.split(',') ?? [];
    expect([...new Set(directives)].sort()).toEqual([...compiled].sort());
  });

  it('puts every path of the node under its root', () => {
    for (const [name, value] of Object.entries(paths)) {
      expect(value.startsWith(`${layout.root}/`), name).toBe(true);
    }
  });
});
