import { beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateRejectedError,
  createCrl,
  createTenantCa,
  issueClientCertificate,
  issueServingCertificate,
  verifyClientCertificate,
} from '../../../src/pki/index.ts';
import type { IssuedCertificateWithKey, TenantCa } from '../../../src/pki/index.ts';

const now = new Date('2030-06-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

let acme: TenantCa;
let globex: TenantCa;
let client: IssuedCertificateWithKey;

beforeAll(async () => {
  acme = await createTenantCa({ tenant: 'acme', validityDays: 365, now });
  globex = await createTenantCa({ tenant: 'globex', validityDays: 365, now });
  client = await issueClientCertificate(acme, {
    commonName: 'scoring-job',
    tenant: 'acme',
    validityDays: 30,
    now,
  });
});

async function rejection(promise: Promise<unknown>): Promise<CertificateRejectedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof CertificateRejectedError) return error;
  throw new Error(`expected a CertificateRejectedError, got ${String(error)}`);
}

describe('verifyClientCertificate', () => {
  it('accepts a certificate of the tenant CA and returns its subject', async () => {
    const info = await verifyClientCertificate(acme.certPem, client.certPem, { now });
    expect(info).toMatchObject({
      commonName: 'scoring-job',
      organizations: ['acme'],
      serialNumber: client.serialNumber,
    });
  });

  it("rejects a certificate from another tenant's CA", async () => {
    const foreign = await issueClientCertificate(globex, {
      commonName: 'scoring-job',
      tenant: 'acme',
      validityDays: 30,
      now,
    });
    expect((await rejection(verifyClientCertificate(acme.certPem, foreign.certPem, { now }))).reason).toBe(
      'untrusted-issuer',
    );
  });

  it('rejects an expired certificate and accepts it up to its last second', async () => {
    await expect(
      verifyClientCertificate(acme.certPem, client.certPem, { now: client.notAfter }),
    ).resolves.toBeDefined();
    const afterExpiry = new Date(client.notAfter.getTime() + 1000);
    expect(
      (await rejection(verifyClientCertificate(acme.certPem, client.certPem, { now: afterExpiry }))).reason,
    ).toBe('expired');
  });

  it('rejects a certificate before its validity starts', async () => {
    const early = new Date(now.getTime() - DAY);
    expect(
      (await rejection(verifyClientCertificate(acme.certPem, client.certPem, { now: early }))).reason,
    ).toBe('not-yet-valid');
  });

  it('rejects a revoked certificate listed in the CRL and accepts the others', async () => {
    const other = await issueClientCertificate(acme, {
      commonName: 'other',
      tenant: 'acme',
      validityDays: 30,
      now,
    });
    const crlPem = await createCrl(acme, [{ serialNumber: client.serialNumber, revokedAt: now }], { now });
    expect(crlPem).toMatch(/^-----BEGIN X509 CRL-----/);
    const revoked = await rejection(verifyClientCertificate(acme.certPem, client.certPem, { now, crlPem }));
    expect(revoked.reason).toBe('revoked');
    await expect(
      verifyClientCertificate(acme.certPem, other.certPem, { now, crlPem }),
    ).resolves.toBeDefined();
  });

  it('matches revoked serial numbers whatever their case or high bit', async () => {
    const highBit = await issueClientCertificate(acme, {
      commonName: 'x',
      tenant: 'acme',
      validityDays: 30,
      now,
      serialNumber: 'F00D',
    });
    expect(highBit.serialNumber).toBe('f00d');
    const crlPem = await createCrl(acme, [{ serialNumber: 'F00D', revokedAt: now }], { now });
    expect(
      (await rejection(verifyClientCertificate(acme.certPem, highBit.certPem, { now, crlPem }))).reason,
    ).toBe('revoked');
  });

  it('refuses a CRL that another CA signed', async () => {
    const crlPem = await createCrl(globex, [], { now });
    expect(
      (await rejection(verifyClientCertificate(acme.certPem, client.certPem, { now, crlPem }))).reason,
    ).toBe('invalid-crl');
  });

  it('rejects a serving certificate presented as a client certificate', async () => {
    const serving = await issueServingCertificate(acme, {
      hosts: ['a.acme.example.com'],
      validityDays: 30,
      now,
    });
    expect((await rejection(verifyClientCertificate(acme.certPem, serving.certPem, { now }))).reason).toBe(
      'not-a-client-certificate',
    );
  });

  it('rejects text that is not a certificate', async () => {
    expect((await rejection(verifyClientCertificate(acme.certPem, 'nope', { now }))).reason).toBe(
      'malformed',
    );
  });
});
