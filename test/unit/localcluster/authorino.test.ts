import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  authorinoIssuerTrust,
  authorinoNamespace,
  authorinoService,
  renderAuthorino,
  renderAuthorinoIssuerTrust,
} from '../../../src/localcluster/authorino.ts';
import { tenantmeshMeshConfig } from '../../../src/localcluster/mesh.ts';

describe('Authorino on the local node', () => {
  it('matches the golden objects', async () => {
    await expect(stringify(renderAuthorino('tenantmesh.local/authorino:0123'))).toMatchFileSnapshot(
      '__golden__/authorino.yaml',
    );
  });

  it('watches the whole cluster, since AuthConfigs and CA Secrets live in the serving namespace', () => {
    const deployment = renderAuthorino('a').find((object) => object.kind === 'Deployment') as unknown as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const args = deployment.spec.template.spec.containers.flatMap((container) => container.args);
    expect(args).toContain('server');
    expect(args.some((arg) => arg.startsWith('--watch-namespace'))).toBe(false);
  });

  it("is the Service the mesh config's extension provider names", () => {
    const providers = tenantmeshMeshConfig()['extensionProviders'] as {
      envoyExtAuthzGrpc: { service: string; port: number };
    }[];
    const provider = providers[0]?.envoyExtAuthzGrpc;
    expect(provider?.service).toBe(`${authorinoService}.${authorinoNamespace}.svc.cluster.local`);
    const service = renderAuthorino('a').find((object) => object.kind === 'Service') as unknown as {
      spec: { ports: { port: number }[] };
    };
    expect(service.spec.ports.map((port) => port.port)).toContain(provider?.port);
  });

  it('fails closed, and says 503 (gRPC UNAVAILABLE) when Authorino cannot answer, not a refusal', () => {
    const [provider] = tenantmeshMeshConfig()['extensionProviders'] as {
      envoyExtAuthzGrpc: { failOpen: boolean; statusOnError: string; timeout: string };
    }[];
    expect(provider?.envoyExtAuthzGrpc).toMatchObject({
      failOpen: false,
      statusOnError: '503',
      timeout: '2s',
    });
  });

  it('trusts the CAs of its optional trust ConfigMap for https to OIDC issuers, beside the image’s', () => {
    const deployment = renderAuthorino('a').find((object) => object.kind === 'Deployment') as unknown as {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; value: string }[];
              volumeMounts: { name: string; mountPath: string }[];
            }[];
            volumes: { name: string; configMap?: { name: string; optional?: boolean } }[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    // SSL_CERT_DIR adds directories to Go's system bundle file; SSL_CERT_FILE would replace that file.
    expect(pod.containers[0]!.env).toContainEqual({
      name: 'SSL_CERT_DIR',
      value: authorinoIssuerTrust.mountPath,
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual(
      expect.objectContaining({ name: 'oidc-ca', mountPath: authorinoIssuerTrust.mountPath }),
    );
    // A node without a private issuer has no such ConfigMap, and Authorino must start all the same.
    expect(pod.volumes).toContainEqual({
      name: 'oidc-ca',
      configMap: { name: authorinoIssuerTrust.configMap, optional: true },
    });
  });

  it('trusts an issuer CA with its ConfigMap and a digest on the Pod template that rolls the Pod when it changes', async () => {
    const objects = renderAuthorinoIssuerTrust('-----BEGIN CERTIFICATE-----\nA\n-----END CERTIFICATE-----\n');
    await expect(stringify(objects)).toMatchFileSnapshot('__golden__/authorino-issuer-trust.yaml');
    const annotationOf = (caPem: string) =>
      (
        renderAuthorinoIssuerTrust(caPem).find((o) => o.kind === 'Deployment') as unknown as {
          spec: { template: { metadata: { annotations: Record<string, string> } } };
        }
      ).spec.template.metadata.annotations[authorinoIssuerTrust.annotation];
    expect(annotationOf('ca one')).toMatch(/^[0-9a-f]{64}$/);
    expect(annotationOf('ca one')).toBe(annotationOf('ca one'));
    expect(annotationOf('ca two')).not.toBe(annotationOf('ca one'));
    const [configMap, deployment] = objects;
    expect(configMap).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: authorinoIssuerTrust.configMap, namespace: authorinoNamespace },
    });
    // Applied by a field manager of its own: it must own nothing but the annotation.
    expect(Object.keys((deployment as unknown as { spec: object }).spec)).toEqual(['template']);
  });
});
