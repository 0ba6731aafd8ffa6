import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  createTenantCa,
  importTenantCa,
  InvalidCaError,
  issueClientCertificate,
  issueServingCertificate,
  verifyClientCertificate,
} from '../../../src/pki/index.ts';
import { generateKeys } from './csr.ts';

const now = new Date('2030-06-01T12:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

async function selfSigned(options: {
  keys: webcrypto.CryptoKeyPair;
  extensions: x509.Extension[];
  notAfter?: Date;
  hash?: string;
}): Promise<string> {
  const isEc = options.keys.privateKey.algorithm.name === 'ECDSA';
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=byo',
    keys: options.keys,
    notBefore: new Date(now.getTime() - DAY),
    notAfter: options.notAfter ?? new Date(now.getTime() + 365 * DAY),
    signingAlgorithm: isEc ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' },
    extensions: options.extensions,
  });
  return cert.toString('pem');
}

async function pkcs8(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

const caExtensions = () => [
  new x509.BasicConstraintsExtension(true, undefined, true),
  new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
];

function caError(fn: () => unknown): InvalidCaError {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidCaError) return error;
    throw error;
  }
  throw new Error('expected an InvalidCaError');
}

describe('generated tenant CA', () => {
  it('is a self-signed ECDSA P-256 CA certificate that Node crypto accepts', async () => {
    const ca = await createTenantCa({ tenant: 'acme', validityDays: 3650, now });
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.subject).toContain('acme');
    expect(cert.validToDate.getTime()).toBe(now.getTime() + 3650 * DAY);
  });

  it('returns its private key as PKCS#8 PEM matching the certificate, and the SHA-256 fingerprint', async () => {
    const ca = await createTenantCa({ tenant: 'acme', now });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const cert = new X509Certificate(ca.certPem);
    const publicFromKey = createPublicKey(createPrivateKey(ca.keyPem)).export({
      type: 'spki',
      format: 'der',
    });
    expect(publicFromKey.equals(cert.publicKey.export({ type: 'spki', format: 'der' }))).toBe(true);
    expect(ca.fingerprintSha256).toBe(cert.fingerprint256);
  });

  it('can be imported back as a bring-your-own CA', async () => {
    const ca = await createTenantCa({ tenant: 'acme', now });
    expect(importTenantCa(ca.certPem, ca.keyPem, { now })).toEqual(ca);
  });

  it('writes its private key byte for byte as OpenSSL writes a PKCS#8 PEM', async () => {
    const ca = await createTenantCa({ tenant: 'acme', now });
    expect(createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'pem' })).toBe(ca.keyPem);
  });

  it('is checked for its validity period on every use, though it was checked once already', async () => {
    const ca = await createTenantCa({ tenant: 'acme', validityDays: 10, now });
    const policy = { tenant: 'acme', commonName: 'alice', validityDays: 1 };
    const issued = await issueServingCertificate(ca, { hosts: ['acme.example.com'], validityDays: 1, now });
    expect(new X509Certificate(issued.certPem).checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    const later = new Date(now.getTime() + 11 * DAY);
    const earlier = new Date(now.getTime() - DAY);
    for (const [at, reason] of [
      [later, 'expired'],
      [earlier, 'not-yet-valid'],
    ] as const) {
      const refused = await issueClientCertificate(ca, { ...policy, now: at }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(InvalidCaError);
      expect((refused as InvalidCaError).reason).toBe(reason);
      expect(caError(() => importTenantCa(ca.certPem, ca.keyPem, { now: at })).reason).toBe(reason);
    }
  });

  it("refuses its certificate with another CA's key, though both were checked already", async () => {
    const first = await createTenantCa({ tenant: 'acme', now });
    const second = await createTenantCa({ tenant: 'globex', now });
    await issueServingCertificate(first, { hosts: ['acme.example.com'], validityDays: 1, now });
    await issueServingCertificate(second, { hosts: ['globex.example.com'], validityDays: 1, now });
    expect(caError(() => importTenantCa(first.certPem, second.keyPem, { now })).reason).toBe('key-mismatch');
  });
});

describe('bring-your-own CA', () => {
  it('is accepted with a SEC1 EC key, which is re-encoded as PKCS#8', async () => {
    const keys = await generateKeys({ ec: 'P-384' });
    const certPem = await selfSigned({ keys, extensions: caExtensions() });
    const sec1 = createPrivateKey(await pkcs8(keys.privateKey)).export({
      type: 'sec1',
      format: 'pem',
    }) as string;
    const ca = importTenantCa(certPem, sec1, { now });
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(ca.fingerprintSha256).toBe(new X509Certificate(certPem).fingerprint256);
  });

  it('with an RSA 2048 key issues client certificates that verify', async () => {
    const keys = await generateKeys({ rsaBits: 2048 });
    const certPem = await selfSigned({ keys, extensions: caExtensions() });
    const ca = importTenantCa(certPem, await pkcs8(keys.privateKey), { now });
    const client = await issueClientCertificate(ca, {
      commonName: 'svc',
      tenant: 'acme',
      validityDays: 30,
      now,
    });
    await expect(verifyClientCertificate(ca.certPem, client.certPem, { now })).resolves.toMatchObject({
      commonName: 'svc',
    });
  });

  it('that is not a CA is rejected', async () => {
    const ca = await createTenantCa({ tenant: 'acme', now });
    const leaf = await issueClientCertificate(ca, {
      commonName: 'svc',
      tenant: 'acme',
      validityDays: 30,
      now,
    });
    expect(caError(() => importTenantCa(leaf.certPem, leaf.keyPem, { now })).reason).toBe('not-a-ca');
  });

  it('whose key usage does not allow signing certificates is rejected', async () => {
    const keys = await generateKeys({ ec: 'P-256' });
    const certPem = await selfSigned({
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ],
    });
    const error = caError(() => importTenantCa(certPem, '', { now }));
    expect(error.reason).toBe('cannot-sign-certificates');
  });

  it('that has expired is rejected', async () => {
    const keys = await generateKeys({ ec: 'P-256' });
    const certPem = await selfSigned({
      keys,
      extensions: caExtensions(),
      notAfter: new Date(now.getTime() - 1000),
    });
    const error = caError(() => importTenantCa(certPem, '', { now }));
    expect(error.reason).toBe('expired');
    expect(error.message).toContain('expired');
  });

  it('whose key does not match the certificate is rejected', async () => {
    const keys = await generateKeys({ ec: 'P-256' });
    const otherKeyPem = await pkcs8((await generateKeys({ ec: 'P-256' })).privateKey);
    const certPem = await selfSigned({ keys, extensions: caExtensions() });
    expect(caError(() => importTenantCa(certPem, otherKeyPem, { now })).reason).toBe('key-mismatch');
  });

  it('whose key is not a readable PEM private key is rejected as malformed', async () => {
    const certPem = await selfSigned({
      keys: await generateKeys({ ec: 'P-256' }),
      extensions: caExtensions(),
    });
    expect(caError(() => importTenantCa(certPem, 'not a key', { now })).reason).toBe('malformed');
  });

  it('with a key type we do not support is rejected', async () => {
    const keys = await generateKeys({ rsaBits: 1024 });
    const certPem = await selfSigned({ keys, extensions: caExtensions() });
    const keyPem = await pkcs8(keys.privateKey);
    const error = caError(() => importTenantCa(certPem, keyPem, { now }));
    expect(error.reason).toBe('unsupported-key');
    expect(error.message).toContain('1024');
  });

  it('that is not a PEM certificate, or several, is rejected as malformed', async () => {
    const ca = await createTenantCa({ tenant: 'acme', now });
    expect(caError(() => importTenantCa('hello', ca.keyPem, { now })).reason).toBe('malformed');
    expect(caError(() => importTenantCa(ca.certPem + ca.certPem, ca.keyPem, { now })).reason).toBe(
      'malformed',
    );
  });
});
