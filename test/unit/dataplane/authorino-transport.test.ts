import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { authorinoNamespace, renderAuthorino } from '../../../src/localcluster/authorino.ts';
import { tenantmeshMeshConfig } from '../../../src/localcluster/mesh.ts';

/** Finding 12 of issue 11: the gateway → Authorino hop is encrypted by the mesh, and the shipped files agree. */
const file = (relative: string) => fileURLToPath(new URL(`../../../${relative}`, import.meta.url));
const transport = parseAllDocuments(readFileSync(file('authorino/mesh-transport.yaml'), 'utf8')).map(
  (document) =>
    document.toJS() as { kind: string; metadata: { namespace: string }; spec: Record<string, never> },
);
const instance = parse(readFileSync(file('authorino/authorino.yaml'), 'utf8')) as {
  metadata: { namespace: string };
};
const provider = (
  tenantmeshMeshConfig()['extensionProviders'] as { envoyExtAuthzGrpc: { service: string } }[]
)[0]!.envoyExtAuthzGrpc;
const of = (kind: string) => {
  const found = transport.find((object) => object.kind === kind);
  if (!found) throw new Error(`authorino/mesh-transport.yaml has no ${kind}`);
  return found;
};

describe('the gateway → Authorino transport', () => {
  it('makes every client use Istio mutual TLS to the Service the extension provider names', () => {
    const rule = of('DestinationRule') as unknown as {
      spec: { host: string; trafficPolicy: { tls: { mode: string } } };
    };
    expect(rule.spec.host).toBe(provider.service);
    expect(rule.spec.trafficPolicy.tls.mode).toBe('ISTIO_MUTUAL');
  });

  it('makes Authorino refuse plain text in its whole namespace', () => {
    const peer = of('PeerAuthentication') as unknown as {
      spec: { mtls: { mode: string }; selector?: unknown };
    };
    expect(peer.spec).toEqual({ mtls: { mode: 'STRICT' } });
  });

  it('lives where Authorino runs, in production and on the local node, and that namespace is in the mesh', () => {
    for (const object of transport) expect(object.metadata.namespace).toBe(instance.metadata.namespace);
    expect(authorinoNamespace).toBe(instance.metadata.namespace);
    expect(provider.service).toMatch(new RegExp(`\\.${authorinoNamespace}\\.svc\\.cluster\\.local$`));
    const namespace = renderAuthorino('a').find((object) => object.kind === 'Namespace');
    expect(namespace?.metadata?.labels?.['istio-injection']).toBe('enabled');
  });
});
