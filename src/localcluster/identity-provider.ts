import { createHash, randomBytes } from 'node:crypto';
import type { KubeObject } from '../kube/index.ts';
import { createTenantCa, issueServingCertificate } from '../pki/index.ts';
import {
  cliClientId,
  consoleClientId,
  hashPasswords,
  makeDemoUsers,
  otherApplicationClientId,
  renderDexConfig,
  type DexInfo,
} from '../testenv/dex.ts';

/**
 * Dex as a Pod on the local node: the identity provider the chart's console logs people in with, with the
 * process-only platform's demo users. Its issuer URL is its in-cluster Service name, the same for the API Pod and
 * for a browser on the host (which maps that host and port to a 127.0.0.1 forward; the host never resolves or
 * routes cluster names).
 */
export const identityProvider = {
  name: 'dex',
  port: 5556,
  /** Dex's configuration (it holds the console client's secret and the password hashes). */
  configSecret: 'tenantmesh-dex-config',
  tlsSecret: 'tenantmesh-dex-tls',
  /** The CA of Dex's serving certificate: the chart's `oidc.caConfigMap` (key ca.crt). */
  caConfigMap: 'tenantmesh-oidc-ca',
  /** The chart's `console.clientSecret` (key clientSecret). */
  consoleClientSecret: 'tenantmesh-console-client',
} as const;

/** Where Dex is, for the API Pod and (through a host mapping) for a browser. */
export const dexHost = (namespace: string) => `${identityProvider.name}.${namespace}.svc`;
export const dexIssuerUrl = (namespace: string) =>
  `https://${dexHost(namespace)}:${identityProvider.port}/dex`;

/** Dex's Deployment and Service; `configHash` restarts the Pod when its configuration changes. */
export function renderIdentityProvider(options: {
  image: string;
  namespace: string;
  configHash: string;
}): KubeObject[] {
  const labels = { app: identityProvider.name };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: identityProvider.name, namespace: options.namespace, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'tenantmesh.io/config-hash': options.configHash } },
          spec: {
            automountServiceAccountToken: false,
            containers: [
              {
                name: 'dex',
                image: options.image,
                imagePullPolicy: 'Never',
                args: ['serve', '/etc/dex/config/config.yaml'],
                ports: [{ name: 'https', containerPort: identityProvider.port }],
                readinessProbe: {
                  httpGet: { path: '/dex/.well-known/openid-configuration', port: 'https', scheme: 'HTTPS' },
                  periodSeconds: 2,
                },
                resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
                securityContext: {
                  runAsNonRoot: true,
                  runAsUser: 65532,
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                  seccompProfile: { type: 'RuntimeDefault' },
                },
                volumeMounts: [
                  { name: 'config', mountPath: '/etc/dex/config', readOnly: true },
                  { name: 'tls', mountPath: '/etc/dex/tls', readOnly: true },
                ],
              },
            ],
            volumes: [
              { name: 'config', secret: { secretName: identityProvider.configSecret } },
              { name: 'tls', secret: { secretName: identityProvider.tlsSecret } },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: identityProvider.name, namespace: options.namespace, labels },
      spec: {
        selector: labels,
        ports: [
          {
            name: 'https',
            port: identityProvider.port,
            targetPort: identityProvider.port,
            appProtocol: 'https',
          },
        ],
      },
    },
  ] as KubeObject[];
}

/** Dex on the node as its clients see it, with the CA that signed its serving certificate. */
export interface NodeIdentityProvider extends DexInfo {
  caPem: string;
  /** Dex's serving certificate (a browser trusts exactly this one). */
  certPem: string;
}

/**
 * Everything Dex and the chart's console need, made fresh (new passwords, client secret and certificate each
 * time; Dex keeps nothing, its storage is memory): the objects to apply and what clients need to know.
 */
export async function makeIdentityProvider(options: {
  image: string;
  namespace: string;
  /** The console's public URL (the API as the browser reaches it). */
  consolePublicUrl: string;
  now?: Date;
}): Promise<{ objects: KubeObject[]; info: NodeIdentityProvider }> {
  const now = options.now ?? new Date();
  const { namespace } = options;
  const ca = await createTenantCa({ tenant: 'local-dex', validityDays: 30, now });
  const tls = await issueServingCertificate(ca, { hosts: [dexHost(namespace)], validityDays: 30, now });
  const issuerUrl = dexIssuerUrl(namespace);
  const users = makeDemoUsers();
  const info: NodeIdentityProvider = {
    issuerUrl,
    console: {
      clientId: consoleClientId,
      clientSecret: randomBytes(24).toString('base64url'),
      redirectUris: [`${options.consolePublicUrl.replace(/\/$/, '')}/console/auth/callback`],
    },
    cli: { clientId: cliClientId },
    users,
    caPem: ca.certPem,
    certPem: tls.certPem,
  };
  const config = renderDexConfig({
    issuerUrl,
    listen: `0.0.0.0:${identityProvider.port}`,
    telemetryListen: '127.0.0.1:5558',
    tlsCertPath: '/etc/dex/tls/tls.crt',
    tlsKeyPath: '/etc/dex/tls/tls.key',
    consoleClient: info.console,
    users: await hashPasswords(users),
    // End-to-end tests take the demo users' ID tokens headlessly, and one of an application tenantmesh does not accept.
    passwordGrant: true,
    otherPublicClients: [otherApplicationClientId],
  });
  const secret = (name: string, stringData: Record<string, string>) =>
    ({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, stringData }) as KubeObject;
  const objects = [
    secret(identityProvider.configSecret, { 'config.yaml': config }),
    secret(identityProvider.tlsSecret, { 'tls.crt': tls.certPem, 'tls.key': tls.keyPem }),
    secret(identityProvider.consoleClientSecret, { clientSecret: info.console.clientSecret }),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: identityProvider.caConfigMap, namespace },
      data: { 'ca.crt': ca.certPem },
    } as KubeObject,
    ...renderIdentityProvider({
      image: options.image,
      namespace,
      configHash: createHash('sha256').update(config).update(tls.certPem).digest('hex').slice(0, 16),
    }),
  ];
  return { objects, info };
}

/**
 * The chart values that turn the console on against this Dex: the API trusts it (claims mapped as the
 * process-only platform maps them) and logs people in with its console client.
 */
export function consoleReleaseValues(info: Pick<DexInfo, 'issuerUrl'>, publicUrl: string) {
  return {
    oidc: {
      issuers: [
        {
          issuerUrl: info.issuerUrl,
          audiences: [consoleClientId, cliClientId],
          usernameClaim: 'email',
          groupsClaim: 'groups',
          caFile: '/etc/tenantmesh/oidc-ca/ca.crt',
        },
      ],
      caConfigMap: identityProvider.caConfigMap,
    },
    console: {
      enabled: true,
      issuerUrl: info.issuerUrl,
      clientId: consoleClientId,
      publicUrl,
      clientSecret: { name: identityProvider.consoleClientSecret, key: 'clientSecret' },
      caFile: '/etc/tenantmesh/oidc-ca/ca.crt',
    },
  };
}
