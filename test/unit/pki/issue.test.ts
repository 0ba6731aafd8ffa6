import 'reflect-metadata';
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  createTenantCa,
  InvalidCaError,
  InvalidCertificateRequestError,
  InvalidCsrError,
  issueClientCertificate,
  issueServingCertificate,
  parseCertificate,
  signCsr,
} from '../../../src/pki/index.ts';
import type { TenantCa } from '../../../src/pki/index.ts';
import { buildEcCsrPem, createCsrPem, generateKeys } from './csr.ts';

const now = new Date('2030-06-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

let acme: TenantCa;
let globex: TenantCa;

beforeAll(async () => {
  acme = await createTenantCa({ tenant: 'acme', validityDays: 365, now });
  globex = await createTenantCa({ tenant: 'globex', validityDays: 365, now });
});

const policy = { commonName: 'scoring-job', tenant: 'acme', validityDays: 30, now };

async function csrError(promise: Promise<unknown>): Promise<InvalidCsrError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (error instanceof InvalidCsrError) return error;
  throw new Error(`expected an InvalidCsrError, got ${String(error)}`);
}

describe('client certificates with a generated key', () => {
  it('chain to their tenant CA according to Node crypto', async () => {
    const issued = await issueClientCertificate(acme, policy);
    const cert = new X509Certificate(issued.certPem);
    const ca = new X509Certificate(acme.certPem);
    expect(cert.checkIssued(ca)).toBe(true);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual([CLIENT_AUTH]);
  });

  it('do not chain to another tenant CA', async () => {
    const issued = await issueClientCertificate(globex, { ...policy, tenant: 'globex' });
    const cert = new X509Certificate(issued.certPem);
    const ca = new X509Certificate(acme.certPem);
    expect(cert.checkIssued(ca)).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(false);
  });

  it('carry CN = the requested name and O = the tenant, with the returned key and serial', async () => {
    const issued = await issueClientCertificate(acme, { ...policy, serialNumber: '0badc0de' });
    const info = parseCertificate(issued.certPem);
    expect(info.commonName).toBe('scoring-job');
    expect(info.organizations).toEqual(['acme']);
    expect(info.serialNumber).toBe('0badc0de');
    expect(issued.serialNumber).toBe('0badc0de');
    const cert = new X509Certificate(issued.certPem);
    const fromKey = createPublicKey(createPrivateKey(issued.keyPem)).export({ type: 'spki', format: 'der' });
    expect(fromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(issued.notAfter.getTime()).toBe(now.getTime() + 30 * DAY);
  });

  it('get distinct random serial numbers when none is given', async () => {
    const [a, b] = await Promise.all([
      issueClientCertificate(acme, policy),
      issueClientCertificate(acme, policy),
    ]);
    expect(a.serialNumber).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  it('never outlive their CA', async () => {
    const issued = await issueClientCertificate(acme, { ...policy, validityDays: 5000 });
    expect(issued.notAfter).toEqual(new X509Certificate(acme.certPem).validToDate);
  });

  it('are refused once the CA has expired', async () => {
    const later = new Date(now.getTime() + 400 * DAY);
    await expect(issueClientCertificate(acme, { ...policy, now: later })).rejects.toMatchObject({
      reason: 'expired',
      constructor: InvalidCaError,
    });
  });

  it('are refused for a common name that is not a plain identifier', async () => {
    for (const commonName of ['', 'a,O=admin', 'x'.repeat(65), '-leading-dash']) {
      await expect(issueClientCertificate(acme, { ...policy, commonName })).rejects.toBeInstanceOf(
        InvalidCertificateRequestError,
      );
    }
  });
});

describe('serving certificates', () => {
  it('list every host, wildcards and IP addresses included, for server authentication', async () => {
    const hosts = ['*.acme.models.example.com', 'acme.models.example.com', '127.0.0.1'];
    const issued = await issueServingCertificate(acme, { hosts, validityDays: 90, now });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.checkIssued(new X509Certificate(acme.certPem))).toBe(true);
    expect(cert.keyUsage).toEqual([SERVER_AUTH]);
    expect(cert.ca).toBe(false);
    // checkHost answers with the certificate name that matched.
    expect(cert.checkHost('scoring.acme.models.example.com')).toBe('*.acme.models.example.com');
    expect(cert.checkHost('acme.models.example.com')).toBe('acme.models.example.com');
    expect(cert.checkHost('scoring.globex.models.example.com')).toBeUndefined();
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(parseCertificate(issued.certPem).hosts).toEqual(hosts);
  });

  it('are refused for names that are not DNS names, or wildcards not in the leftmost label', async () => {
    for (const host of ['acme..example.com', 'foo.*.example.com', '*.com', 'UNDER_SCORE.example.com']) {
      await expect(
        issueServingCertificate(acme, { hosts: [host], validityDays: 90, now }),
      ).rejects.toBeInstanceOf(InvalidCertificateRequestError);
    }
    await expect(issueServingCertificate(acme, { hosts: [], validityDays: 90, now })).rejects.toBeInstanceOf(
      InvalidCertificateRequestError,
    );
  });
});

describe('signing a CSR', () => {
  it('ignores the CSR subject and requested extensions in favour of server policy', async () => {
    const keys = await generateKeys({ ec: 'P-256' });
    const csrPem = await createCsrPem(keys, 'CN=cluster-admin, O=system:masters', {
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.codeSigning,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'evil.example.com' }]),
      ],
    });
    const issued = await signCsr(acme, csrPem, policy);
    const info = parseCertificate(issued.certPem);
    expect(info.commonName).toBe('scoring-job');
    expect(info.organizations).toEqual(['acme']);
    expect(info.isCa).toBe(false);
    expect(info.extendedKeyUsages).toEqual(['clientAuth']);
    expect(info.hosts).toEqual([]);
    const cert = new X509Certificate(issued.certPem);
    expect(cert.checkIssued(new X509Certificate(acme.certPem))).toBe(true);
    const csrKey = new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData;
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(Buffer.from(csrKey))).toBe(true);
  });

  it('accepts RSA 2048 and P-384 keys', async () => {
    for (const spec of [{ rsaBits: 2048 }, { ec: 'P-384' as const }]) {
      const csrPem = await createCsrPem(await generateKeys(spec), 'CN=x');
      const cert = new X509Certificate((await signCsr(acme, csrPem, policy)).certPem);
      expect(cert.verify(new X509Certificate(acme.certPem).publicKey)).toBe(true);
    }
  });

  it('rejects a CSR signed by a key other than the one it carries', async () => {
    const keys = await generateKeys({ ec: 'P-256' });
    const other = await generateKeys({ ec: 'P-256' });
    const csrPem = await createCsrPem(keys, 'CN=x', { signWith: other.privateKey });
    expect((await csrError(signCsr(acme, csrPem, policy))).reason).toBe('bad-signature');
  });

  it('rejects a CSR whose signature bytes were altered', async () => {
    const csrPem = await createCsrPem(await generateKeys({ ec: 'P-256' }), 'CN=x');
    const der = Buffer.from(csrPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 3]! ^= 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect((await csrError(signCsr(acme, tampered, policy))).reason).toBe('bad-signature');
  });

  it('rejects an RSA key smaller than 2048 bits', async () => {
    const csrPem = await createCsrPem(await generateKeys({ rsaBits: 1024 }), 'CN=x');
    const error = await csrError(signCsr(acme, csrPem, policy));
    expect(error.reason).toBe('weak-key');
    expect(error.message).toContain('1024');
  });

  it('rejects keys on curves outside policy', async () => {
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' });
    const secp256k1 = await csrError(signCsr(acme, buildEcCsrPem('x', k1.publicKey, k1.privateKey), policy));
    expect(secp256k1.reason).toBe('unsupported-key');
    expect(secp256k1.message).toContain('secp256k1');
    const p521 = await createCsrPem(await generateKeys({ ec: 'P-521' }), 'CN=x');
    expect((await csrError(signCsr(acme, p521, policy))).reason).toBe('unsupported-key');
  });

  it('accepts a hand-built CSR on P-256, proving the builder used above is sound', async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const issued = await signCsr(acme, buildEcCsrPem('x', keys.publicKey, keys.privateKey), policy);
    expect(parseCertificate(issued.certPem).commonName).toBe('scoring-job');
  });

  it('rejects text that is not a CSR', async () => {
    expect((await csrError(signCsr(acme, 'hello', policy))).reason).toBe('malformed');
  });
});
