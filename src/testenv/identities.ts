import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { Client as MinioClient } from 'minio';
import { renderKubeconfig } from './kubeconfig.ts';
import type { EnvironmentInfo } from './environment.ts';
import { mintToken, type TestTokenClaims } from './oidc-issuer.ts';

/** Kubernetes client configuration acting as whoever holds `token` (static user, OIDC user or ServiceAccount). */
export function kubeConfigForToken(info: EnvironmentInfo, token: string, name = 'test-user'): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromString(
    renderKubeconfig({ server: info.apiserverUrl, caPem: info.caPem, user: name, token }),
  );
  return kubeConfig;
}

/** The admin's client configuration (system:masters). */
export function adminKubeConfig(info: EnvironmentInfo): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(info.adminKubeconfigPath);
  return kubeConfig;
}

/** A static user's bearer token (admin, alice, bob, …). */
export function staticUserToken(info: EnvironmentInfo, name: string): string {
  const user = info.staticUsers[name];
  if (!user)
    throw new Error(`no static test user ${name}; known: ${Object.keys(info.staticUsers).join(', ')}`);
  return user.token;
}

/** An OIDC ID token from the run's local issuer, with whatever claims the test needs. */
export function oidcToken(info: EnvironmentInfo, claims: TestTokenClaims): Promise<string> {
  return mintToken(info.oidc, claims);
}

/**
 * A ServiceAccount token from the TokenRequest API (the ServiceAccount is created when missing). Its audience is
 * the apiserver's by default; pass `audiences` for tokens meant for another verifier.
 */
export async function serviceAccountToken(
  info: EnvironmentInfo,
  namespace: string,
  name: string,
  options: { audiences?: string[]; expirationSeconds?: number } = {},
): Promise<string> {
  const core = adminKubeConfig(info).makeApiClient(CoreV1Api);
  try {
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const response = await core.createNamespacedServiceAccountToken({
    namespace,
    name,
    body: {
      spec: {
        audiences: options.audiences ?? [info.serviceAccountIssuer],
        expirationSeconds: options.expirationSeconds ?? 3600,
      },
    },
  });
  const token = response.status?.token;
  if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
  return token;
}

/** An S3 client for the run's MinIO with the given credentials (root credentials by default). */
export function s3Client(
  info: EnvironmentInfo,
  credentials?: { accessKey: string; secretKey: string; sessionToken?: string },
): MinioClient {
  return new MinioClient({
    endPoint: info.s3.endPoint,
    port: info.s3.port,
    useSSL: info.s3.useSSL,
    accessKey: credentials?.accessKey ?? info.s3.accessKey,
    secretKey: credentials?.secretKey ?? info.s3.secretKey,
    ...(credentials?.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    partSize: 16 * 1024 * 1024,
  });
}
