import type { KubeObject } from '../../../src/domain/index.ts';
import { describe, expect, it } from 'vitest';
import { tenantContext } from '../../../src/render/index.ts';
import {
  renderCaTrustSecret,
  renderGatewayCredentialSecret,
  renderStorageCredentialSecret,
} from '../../../src/render/secrets.ts';
import { sampleInput, toYaml } from './fixtures.ts';

const input = sampleInput();
const ctx = tenantContext(input);
const decoded = (secret: KubeObject) =>
  Object.fromEntries(
    Object.entries(secret.data as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString(),
    ]),
  );

describe('Secrets', () => {
  it('match the golden Secrets', async () => {
    const secrets = [
      renderCaTrustSecret(ctx, input.secrets),
      renderGatewayCredentialSecret(ctx, input.secrets),
      renderStorageCredentialSecret(ctx, input.secrets.storage),
    ];
    await expect(toYaml(secrets)).toMatchFileSnapshot('__golden__/secrets.yaml');
  });

  it('the CA trust Secret is labelled for Authorino and for the tenant AuthConfig selector', () => {
    const secret = renderCaTrustSecret(ctx, input.secrets);
    expect(secret.metadata.labels).toMatchObject({
      'authorino.kuadrant.io/managed-by': 'authorino',
      'tenantmesh.io/tenant-ca': 'acme',
    });
    expect(decoded(secret)['tls.crt']).toBe(input.secrets.caCertificatePem);
  });

  it('the gateway credential lives in the gateway namespace with certificate, key, CA and CRL', () => {
    const secret = renderGatewayCredentialSecret(ctx, input.secrets);
    expect(secret.metadata.namespace).toBe('istio-system');
    expect(Object.keys(decoded(secret)).sort()).toEqual(['ca.crl', 'ca.crt', 'tls.crt', 'tls.key']);
  });

  it('the storage Secret records when its credentials expire', () => {
    const secret = renderStorageCredentialSecret(ctx, input.secrets.storage);
    expect(secret.metadata.annotations).toEqual({ 'tenantmesh.io/expires-at': '2030-01-01T00:00:00.000Z' });
  });
});
