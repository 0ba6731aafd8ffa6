import { describe, expect, it } from 'vitest';
import { fromKube, pkiCaBundleValidator, versionInUseCheck } from '../../../src/api/kube-ports.ts';
import type { EndpointStore } from '../../../src/api/ports.ts';
import type { InvalidError } from '../../../src/domain/errors.ts';
import { ConflictError, NotFoundError, UnavailableError } from '../../../src/domain/errors.ts';
import type { InferenceEndpoint } from '../../../src/domain/index.ts';
import { KubeError } from '../../../src/kube/index.ts';
import { createTenantCa } from '../../../src/pki/index.ts';

const kubeError = (code: number, reason: KubeError['reason'], details?: KubeError['details']) =>
  new KubeError({ code, reason, message: reason, ...(details ? { details } : {}) });

describe('Kubernetes failures become domain errors', () => {
  it.each([
    ['NotFound', kubeError(404, 'NotFound'), NotFoundError],
    ['AlreadyExists', kubeError(409, 'AlreadyExists'), ConflictError],
    ['a stale resourceVersion', kubeError(409, 'Conflict'), ConflictError],
    ['an unreachable apiserver', kubeError(0, 'Network'), UnavailableError],
    ['throttling', kubeError(429, 'TooManyRequests'), UnavailableError],
  ])('maps %s', (_name, error, type) => {
    expect(fromKube(error, 'tenant', 'acme')).toBeInstanceOf(type);
  });

  it('names the rejected fields of an Invalid answer by JSON pointer', () => {
    const mapped = fromKube(
      kubeError(422, 'Invalid', {
        causes: [{ field: 'spec.allowedClientSubjects[2]', message: 'too long' }],
      }),
      'endpoint',
      'e',
    ) as InvalidError;
    expect(mapped.violations).toEqual([{ pointer: '/spec/allowedClientSubjects/2', message: 'too long' }]);
  });

  it('leaves errors that are not the caller’s fault alone (a forbidden API identity is a 500)', () => {
    const error = kubeError(403, 'Forbidden');
    expect(fromKube(error, 'tenant', 'acme')).toBe(error);
  });
});

describe('the provided-CA validator', () => {
  it('accepts a CA with its key, answering its fingerprint, and names the field of a bad bundle', async () => {
    const validator = pkiCaBundleValidator();
    const ca = await createTenantCa({ tenant: 'acme', now: new Date() });
    const other = await createTenantCa({ tenant: 'acme', now: new Date() });
    await expect(
      validator.validate({ certificatePem: ca.certPem, privateKeyPem: ca.keyPem }),
    ).resolves.toEqual({ fingerprint: ca.fingerprintSha256 });
    await expect(
      validator.validate({ certificatePem: ca.certPem, privateKeyPem: other.keyPem }),
    ).rejects.toMatchObject({ violations: [{ pointer: '/ca/privateKeyPem' }] });
    await expect(
      validator.validate({ certificatePem: 'not a certificate', privateKeyPem: ca.keyPem }),
    ).rejects.toMatchObject({ violations: [{ pointer: '/ca/certificatePem' }] });
  });
});

describe('the version-in-use check', () => {
  const endpoint = (name: string, version: string | undefined, served?: string): InferenceEndpoint => ({
    apiVersion: 'tenantmesh.io/v1alpha1',
    kind: 'InferenceEndpoint',
    metadata: { name: `acme--${name}` },
    spec: { tenant: 'acme', model: { name: 'resnet', ...(version ? { version } : {}) }, runtime: 'rt' },
    ...(served ? { status: { servedModelVersion: served } } : {}),
  });
  const endpoints = (items: InferenceEndpoint[]) => ({ list: async () => items }) as unknown as EndpointStore;
  const versions = {
    listVersions: async () => [
      { version: '1', publishedAt: '2025-01-01T00:00:00Z' },
      { version: '2', publishedAt: '2025-02-01T00:00:00Z' },
    ],
  };

  it('counts explicit references, `latest` resolved to the newest version, and what is served now', async () => {
    const check = versionInUseCheck(
      endpoints([endpoint('pinned', '1'), endpoint('floating', 'latest'), endpoint('moving', '3', '1')]),
      versions,
    );
    expect(await check('acme', 'resnet', '1')).toEqual(['moving', 'pinned']);
    expect(await check('acme', 'resnet', '2')).toEqual(['floating']);
    expect(await check('acme', 'other', '1')).toEqual([]);
  });
});
