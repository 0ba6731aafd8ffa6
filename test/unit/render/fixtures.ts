import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stringify, parse } from 'yaml';
import { platformConfig } from '../../../src/domain/index.ts';
import type { InferenceEndpoint, KubeObject, ServingRuntime, Tenant } from '../../../src/domain/index.ts';
import type { TenantRenderInput } from '../../../src/render/index.ts';

const runtimesDir = join(import.meta.dirname, '../../../charts/tenantmesh/runtimes');

/** The default ServingRuntimes shipped with the chart. */
export function defaultRuntimes(): ServingRuntime[] {
  return readdirSync(runtimesDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => parse(readFileSync(join(runtimesDir, file), 'utf8')) as ServingRuntime);
}

export const platform = platformConfig({
  // A gateway installed the way older Istio releases did (istioctl's istio-system/istio-ingressgateway).
  gatewayNamespace: 'istio-system',
  gatewaySelector: { istio: 'ingressgateway' },
  gatewayServiceAccount: 'istio-ingressgateway-service-account',
  oidcIssuers: [
    { issuerUrl: 'https://login.example.com', audiences: ['tenantmesh'], usernamePrefix: 'oidc:' },
  ],
  storage: { endpoint: 'http://minio.tenantmesh-system.svc:9000' },
});

export function sampleTenant(): Tenant {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'Tenant',
    metadata: { name: 'acme', generation: 3 },
    spec: {
      displayName: 'ACME Corp',
      admins: [{ kind: 'User', name: 'oidc:alice' }],
      users: [
        { kind: 'Group', name: 'acme-data-science' },
        { kind: 'User', name: 'oidc:bob' },
        { kind: 'ServiceAccount', name: 'pipeline', namespace: 'acme-ci' },
      ],
      endpointGrants: [{ endpoint: 'bert', subjects: [{ kind: 'Group', name: 'partners' }] }],
      quota: { maxEndpoints: 5, cpu: '8', memory: '16Gi', storageBytes: 10_000_000_000 },
    },
  };
}

function endpoint(name: string, spec: InferenceEndpoint['spec']): InferenceEndpoint {
  return {
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name, namespace: platform.servingNamespace, generation: 1 },
    spec,
  };
}

export const resnet = endpoint('acme--resnet', {
  tenant: 'acme',
  model: { name: 'resnet50', version: 'latest' },
  runtime: 'tensorflow-serving',
  replicas: 2,
  resources: { requests: { cpu: '1' }, limits: { memory: '3Gi' } },
  allowedClientSubjects: ['scoring-job', 'batch'],
});

export const bert = endpoint('acme--bert', {
  tenant: 'acme',
  model: { name: 'bert', version: 'v7' },
  runtime: 'triton',
});

/** Two endpoints (one resolved from `latest`), an endpoint grant, every capability present. */
export function sampleInput(overrides: Partial<TenantRenderInput> = {}): TenantRenderInput {
  return {
    tenant: sampleTenant(),
    endpoints: [
      { resource: resnet, modelVersion: '2024-06-01' },
      { resource: bert, modelVersion: 'v7' },
    ],
    runtimes: defaultRuntimes(),
    platform,
    capabilities: { istio: true, authorino: true, openshift: true },
    secrets: {
      caCertificatePem: '-----BEGIN CERTIFICATE-----\nACME-CA\n-----END CERTIFICATE-----\n',
      servingCertificatePem: '-----BEGIN CERTIFICATE-----\nACME-SERVING\n-----END CERTIFICATE-----\n',
      servingPrivateKeyPem: '-----BEGIN PRIVATE KEY-----\nACME-KEY\n-----END PRIVATE KEY-----\n',
      crlPem: '-----BEGIN X509 CRL-----\nACME-CRL\n-----END X509 CRL-----\n',
      storage: {
        accessKey: 'READONLYKEY',
        secretKey: 'secret/with+chars',
        sessionToken: 'session-token',
        expiresAt: '2030-01-01T00:00:00.000Z',
      },
    },
    ...overrides,
  };
}

/** YAML as Helm and kubectl read it, keys sorted, one document per object. */
export function toYaml(objects: KubeObject | KubeObject[]): string {
  const list = Array.isArray(objects) ? objects : [objects];
  return list
    .map((object) => stringify(object, { version: '1.1', lineWidth: 0, sortMapEntries: true }))
    .join('---\n');
}

/** Finds the one object of `kind` named `name`, or fails the test. */
export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`,
    );
  return found;
}
