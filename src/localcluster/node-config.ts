import { stringify } from 'yaml';
import type { NodeLayout, NodePaths } from './layout.ts';

/**
 * Pure renders of the node daemons' configuration files. The values are the ones measured to work on a VM
 * without CAP_SYS_RESOURCE, AppArmor or systemd, on the cgroup v1 hierarchy, with only local images.
 */

/** containerd 1.6 configuration (format version 2): own paths, CRI with the local pause image and our CNI. */
export function renderContainerdConfig(
  paths: NodePaths,
  options: { sandboxImage: string; cniBinDir: string },
): string {
  const quote = (value: string) => JSON.stringify(value);
  return [
    'version = 2',
    `root = ${quote(paths.containerdRoot)}`,
    `state = ${quote(paths.containerdState)}`,
    '',
    '[grpc]',
    `  address = ${quote(paths.containerdSocket)}`,
    '',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = ${quote(options.sandboxImage)}`,
    // runc cannot lower oom_score_adj without CAP_SYS_RESOURCE; without this the first sandbox fails.
    '  restrict_oom_score_adj = true',
    '  disable_apparmor = true',
    '  enable_unprivileged_ports = true',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '        SystemdCgroup = false',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = ${quote(options.cniBinDir)}`,
    `    conf_dir = ${quote(paths.cniConfDir)}`,
    '',
  ].join('\n');
}

/**
 * CNI network list: a bridge with the Pods' gateway address, host-local IPAM on the pod CIDR, portmap, loopback.
 * Pods get a default route via the bridge so Service and node addresses are reachable; it ends in the node's
 * network namespace, which has no route out.
 */
export function renderCniConflist(layout: NodeLayout, paths: NodePaths): string {
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'tenantmesh-pods',
      plugins: [
        {
          type: 'bridge',
          bridge: layout.podLink,
          isGateway: true,
          isDefaultGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: layout.podCidr }]],
            dataDir: paths.cniState,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'loopback' },
      ],
    },
    null,
    2,
  )}\n`;
}

/** KubeletConfiguration: cgroupfs on cgroup v1, webhook authn/authz, cluster DNS, nothing garbage-collected. */
export function renderKubeletConfig(
  layout: NodeLayout,
  paths: NodePaths,
  options: { caFile: string },
): string {
  return stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: layout.nodeIp,
    // Kubelet 1.36 refuses cgroup v1 unless told otherwise; this machine kind has only v1 controllers.
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: options.caFile },
    },
    authorization: { mode: 'Webhook' },
    clusterDomain: layout.clusterDomain,
    clusterDNS: [layout.dnsServiceIp],
    podCIDR: layout.podCidr,
    maxPods: 50,
    podLogsDir: paths.podLogs,
    // Images here can never be pulled again, so none may be garbage-collected.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
    resolvConf: '',
    healthzBindAddress: '127.0.0.1',
    healthzPort: 10248,
    readOnlyPort: 0,
    serializeImagePulls: false,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
  });
}

/** KubeProxyConfiguration: iptables mode, NodePorts on the node address only, the host's conntrack left alone. */
export function renderKubeProxyConfig(layout: NodeLayout, options: { kubeconfig: string }): string {
  return stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    mode: 'iptables',
    clientConnection: { kubeconfig: options.kubeconfig },
    hostnameOverride: layout.nodeName,
    bindAddress: layout.nodeIp,
    clusterCIDR: layout.podCidr,
    nodePortAddresses: [`${layout.nodeIp}/32`],
    healthzBindAddress: '127.0.0.1:10256',
    metricsBindAddress: '127.0.0.1:10249',
    conntrack: { maxPerCore: 0 },
    iptables: { localhostNodePorts: false },
  });
}

/** CoreDNS's Corefile: the cluster zone only; there is no upstream to forward to. */
export function renderCorefile(layout: NodeLayout): string {
  return [
    '.:53 {',
    '    errors',
    '    health :8080',
    '    ready :8181',
    `    kubernetes ${layout.clusterDomain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '        ttl 30',
    '    }',
    '    cache 30',
    '    loop',
    '    reload',
    '}',
    '',
  ].join('\n');
}
