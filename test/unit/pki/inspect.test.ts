import { beforeAll, describe, expect, it } from 'vitest';
import {
  certificateIdentity,
  CLOCK_SKEW_ALLOWANCE_MS,
  createTenantCa,
  hostsAndValidity,
  issueClientCertificate,
  issueServingCertificate,
  needsRotation,
  parseCertificate,
} from '../../../src/pki/index.ts';
import type { IssuedCertificateWithKey, TenantCa } from '../../../src/pki/index.ts';

const now = new Date('2030-06-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

let acme: TenantCa;
let client: IssuedCertificateWithKey;

beforeAll(async () => {
  acme = await createTenantCa({ tenant: 'acme', validityDays: 365, now });
  client = await issueClientCertificate(acme, {
    commonName: 'scoring-job',
    tenant: 'acme',
    validityDays: 90,
    now,
  });
});

describe('parseCertificate', () => {
  it('reads subject CN and O, serial, validity and fingerprint', () => {
    expect(parseCertificate(client.certPem)).toEqual({
      commonName: 'scoring-job',
      organizations: ['acme'],
      serialNumber: client.serialNumber,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
      notAfter: new Date(now.getTime() + 90 * DAY),
      fingerprintSha256: client.fingerprintSha256,
      isCa: false,
      hosts: [],
      extendedKeyUsages: ['clientAuth'],
    });
  });

  it('recognises the CA certificate as a CA', () => {
    expect(parseCertificate(acme.certPem)).toMatchObject({
      isCa: true,
      fingerprintSha256: acme.fingerprintSha256,
    });
  });
});

describe('hostsAndValidity', () => {
  it('reads what parseCertificate reads: hosts in order (DNS, wildcard, IPv4, IPv6) and validity', async () => {
    const serving = await issueServingCertificate(acme, {
      hosts: ['*.acme.models.example.com', 'registry.acme.example.com', '10.1.2.3', '::1', '2001:db8::1'],
      validityDays: 90,
      now,
    });
    for (const certPem of [serving.certPem, client.certPem, acme.certPem]) {
      const { hosts, notBefore, notAfter } = parseCertificate(certPem);
      expect(hostsAndValidity(certPem)).toEqual({ hosts, notBefore, notAfter });
    }
    expect(hostsAndValidity(serving.certPem)?.hosts).toEqual([
      '*.acme.models.example.com',
      'registry.acme.example.com',
      '10.1.2.3',
      '::1',
      '2001:db8::1',
    ]);
  });

  it('answers undefined for what is not a certificate', () => {
    expect(
      hostsAndValidity('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    ).toBeUndefined();
    expect(hostsAndValidity('')).toBeUndefined();
  });
});

describe('needsRotation', () => {
  it('is false for a fresh certificate and true once a third of its lifetime is left', () => {
    const lifetime = 90 * DAY + CLOCK_SKEW_ALLOWANCE_MS;
    const rotateAt = client.notAfter.getTime() - lifetime / 3;
    expect(needsRotation(client.certPem, now)).toBe(false);
    expect(needsRotation(client.certPem, new Date(rotateAt - 1000))).toBe(false);
    expect(needsRotation(client.certPem, new Date(rotateAt))).toBe(true);
  });

  it('honours a threshold given as remaining time', () => {
    const threshold = { remainingMs: 7 * DAY };
    expect(needsRotation(client.certPem, new Date(client.notAfter.getTime() - 8 * DAY), threshold)).toBe(
      false,
    );
    expect(needsRotation(client.certPem, new Date(client.notAfter.getTime() - 7 * DAY), threshold)).toBe(
      true,
    );
  });

  it('is true for an expired or not-yet-valid certificate', () => {
    expect(needsRotation(client.certPem, new Date(client.notAfter.getTime() + 1))).toBe(true);
    expect(needsRotation(client.certPem, new Date(now.getTime() - DAY))).toBe(true);
  });
});

describe('certificateIdentity', () => {
  it('maps a tenant client certificate CN to a namespaced RBAC username and the tenant clients group', () => {
    expect(certificateIdentity('acme', 'scoring-job')).toEqual({
      username: 'tenantmesh:client:acme:scoring-job',
      groups: ['tenantmesh:clients:acme'],
    });
  });

  it('keeps the same CN in two tenants apart', () => {
    expect(certificateIdentity('acme', 'job').username).not.toBe(
      certificateIdentity('globex', 'job').username,
    );
  });
});
