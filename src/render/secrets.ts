import {
  LABELS,
  bucketName,
  caTrustSecretName,
  commonLabels,
  gatewayCredentialSecretName,
  storageCredentialSecretName,
} from '../domain/index.ts';
import type { KubeObject, PlatformConfig } from '../domain/index.ts';
import { objectMeta } from './meta.ts';
import type { StorageReadCredentials, TenantContext, TenantSecretMaterial } from './types.ts';

/** Annotation recording when the storage credentials in a Secret expire. */
export const EXPIRES_AT_ANNOTATION = 'tenantmesh.io/expires-at';

/** Secret `data` values are base64; `data` (not stringData) keeps server-side apply free of diffs. */
function encode(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, Buffer.from(value, 'utf8').toString('base64')]),
  );
}

/**
 * The tenant's CA certificate for Authorino's x509 identity: selected by the tenant's AuthConfig through
 * `tenantmesh.io/tenant-ca`, and labelled for the Authorino instance or it ignores updates. Authorino reads
 * `tls.crt` first; `ca.crt` carries the same certificate for readers that expect it there.
 */
export function renderCaTrustSecret(ctx: TenantContext, material: TenantSecretMaterial): KubeObject {
  const { platform } = ctx;
  const labels = {
    ...commonLabels('pki', ctx.name),
    [platform.authorinoInstanceLabel.key]: platform.authorinoInstanceLabel.value,
    [LABELS.tenantCa]: ctx.name,
  };
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(caTrustSecretName(ctx.name), platform.servingNamespace, labels),
    type: 'Opaque',
    data: encode({ 'tls.crt': material.caCertificatePem, 'ca.crt': material.caCertificatePem }),
  };
}

/**
 * The Gateway's credential: serving certificate and key, the tenant CA that client certificates must chain
 * to, and its CRL when there is one. Lives in the gateway namespace, where Istio looks for credentialName.
 */
export function renderGatewayCredentialSecret(
  ctx: TenantContext,
  material: TenantSecretMaterial,
): KubeObject {
  const values: Record<string, string> = {
    'tls.crt': material.servingCertificatePem,
    'tls.key': material.servingPrivateKeyPem,
    'ca.crt': material.caCertificatePem,
  };
  if (material.crlPem !== undefined) values['ca.crl'] = material.crlPem;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(
      gatewayCredentialSecretName(ctx.name),
      ctx.platform.gatewayNamespace,
      commonLabels('pki', ctx.name),
    ),
    type: 'kubernetes.io/tls',
    data: encode(values),
  };
}

/**
 * Read-only, expiring credentials for the tenant's bucket only, as the model puller's environment (the
 * usual AWS variables, so other S3 clients can use them too). The operator refreshes it before `expires-at`.
 */
export function renderStorageCredentialSecret(
  ctx: Pick<TenantContext, 'name'> & { platform: PlatformConfig },
  credentials: StorageReadCredentials,
): KubeObject {
  const labels = commonLabels('serving', ctx.name);
  const values: Record<string, string> = {
    AWS_ACCESS_KEY_ID: credentials.accessKey,
    AWS_SECRET_ACCESS_KEY: credentials.secretKey,
    AWS_ENDPOINT_URL: ctx.platform.storage.endpoint,
    TENANTMESH_BUCKET: bucketName(ctx.name),
  };
  if (credentials.sessionToken !== '') values.AWS_SESSION_TOKEN = credentials.sessionToken;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: objectMeta(storageCredentialSecretName(ctx.name), ctx.platform.servingNamespace, labels, {
      [EXPIRES_AT_ANNOTATION]: credentials.expiresAt,
    }),
    type: 'Opaque',
    data: encode(values),
  };
}
