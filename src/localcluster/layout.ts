import path from 'node:path';

/**
 * Where the local node lives: fixed names and addresses, because there is one node per machine (a lock guards it)
 * and a crashed run's leftovers must be findable by the next run. Every cluster address (node, Pods, Services)
 * exists only inside the network namespace the platform creates; the host reaches it through 127.0.0.1 ports.
 */
export interface NodeLayout {
  /** Network namespace holding the node address, the CNI bridge and every Pod; it has no route out. */
  netns: string;
  /** Port-less bridge inside the namespace that carries the node address. */
  nodeLink: string;
  /** Bridge the CNI bridge plugin creates for Pods (inside the namespace). */
  podLink: string;
  nodeName: string;
  nodeIp: string;
  nodePrefixLength: number;
  podCidr: string;
  serviceCidr: string;
  /** First Service address: the `kubernetes` Service. */
  apiserverServiceIp: string;
  dnsServiceIp: string;
  clusterDomain: string;
  apiserverPort: number;
  /** Everything the node writes (etcd, containerd, kubelet, CNI state, logs); removed on teardown. */
  root: string;
  /** Held for the node's whole life: one node per machine. */
  lockFile: string;
}

/** The node's fixed layout under `stateRoot` (the platform's state directory, outside the repository). */
export function nodeLayout(stateRoot: string): NodeLayout {
  return {
    netns: 'tenantmesh-node',
    nodeLink: 'tm-node0',
    podLink: 'tm-cni0',
    nodeName: 'tenantmesh-node',
    nodeIp: '10.89.0.2',
    nodePrefixLength: 24,
    podCidr: '10.244.0.0/24',
    serviceCidr: '10.96.0.0/16',
    apiserverServiceIp: '10.96.0.1',
    dnsServiceIp: '10.96.0.10',
    clusterDomain: 'cluster.local',
    apiserverPort: 6443,
    root: path.join(stateRoot, 'node'),
    lockFile: path.join(stateRoot, 'node.lock'),
  };
}

/** Paths inside the node's root, one per component. */
export function nodePaths(layout: NodeLayout) {
  const at = (...parts: string[]) => path.join(layout.root, ...parts);
  return {
    pki: at('pki'),
    etcdData: at('etcd'),
    containerdConfig: at('containerd', 'config.toml'),
    containerdRoot: at('containerd', 'root'),
    containerdState: at('containerd', 'state'),
    containerdSocket: at('containerd', 'containerd.sock'),
    cniConfDir: at('cni', 'net.d'),
    cniState: at('cni', 'state'),
    kubeletRoot: at('kubelet'),
    kubeletConfig: at('kubelet-config.yaml'),
    kubeProxyConfig: at('kube-proxy-config.yaml'),
    podLogs: at('pods'),
    forwarderSockets: at('forward'),
    hostState: at('host-state.json'),
  };
}
export type NodePaths = ReturnType<typeof nodePaths>;
