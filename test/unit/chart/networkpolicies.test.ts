import { describe, expect, it } from 'vitest';
import { chartObject, chartValues } from '../../support/chart.ts';

interface Peer {
  ipBlock?: unknown;
  namespaceSelector?: { matchLabels?: Record<string, string> };
  podSelector?: { matchLabels?: Record<string, string> };
}
interface EgressRule {
  to?: Peer[];
  ports?: { port: number; protocol: string }[];
}
interface Policy {
  metadata: { namespace: string };
  spec: { podSelector: Record<string, unknown>; policyTypes: string[]; egress: EgressRule[] };
}

describe('the serving namespace’s egress policy', () => {
  const values = chartValues() as { servingNamespace: string };
  const policy = chartObject(
    'networkpolicies.yaml',
    'NetworkPolicy',
    'tenantmesh-serving-egress',
  ) as unknown as Policy;
  const extra = chartObject(
    'networkpolicies.yaml',
    'NetworkPolicy',
    'tenantmesh-serving-egress-extra',
  ) as unknown as Policy;

  it('selects every pod of the serving namespace and restricts their egress', () => {
    expect(policy.metadata.namespace).toBe(values.servingNamespace);
    expect(policy.spec.podSelector).toEqual({});
    expect(policy.spec.policyTypes).toEqual(['Egress']);
  });

  it('allows only named in-cluster pods on named ports: no address block, so no apiserver and no cloud metadata', () => {
    for (const rule of policy.spec.egress) {
      // A rule without `to` or `ports` would allow every destination or every port.
      expect(rule.to?.length).toBeGreaterThan(0);
      expect(rule.ports?.length).toBeGreaterThan(0);
      for (const peer of rule.to ?? []) {
        expect(peer.ipBlock).toBeUndefined();
        expect(Object.keys(peer.namespaceSelector?.matchLabels ?? {})).toEqual([
          'kubernetes.io/metadata.name',
        ]);
        expect(Object.keys(peer.podSelector?.matchLabels ?? {}).length).toBeGreaterThan(0);
      }
    }
    const reachable = policy.spec.egress.flatMap((rule) =>
      (rule.to ?? []).map(
        (peer) =>
          `${peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name']}:${rule.ports?.map((p) => p.port).join(',')}`,
      ),
    );
    expect(reachable).toEqual(['kube-system:53,53', 'istio-system:15012', 'tenantmesh-system:9000']);
  });

  it('adds nothing by default through the extra policy', () => {
    expect(extra.metadata.namespace).toBe(values.servingNamespace);
    expect(extra.spec.policyTypes).toEqual(['Egress']);
    expect(extra.spec.egress).toEqual([]);
  });
});
