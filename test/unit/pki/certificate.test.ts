import 'reflect-metadata';
import { KeyObject, X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import {
  authorityKeyIdentifierExtension,
  certificatePem,
  keyIdentifier,
  signCertificate,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from '../../../src/pki/certificate.ts';
import {
  CLOCK_SKEW_ALLOWANCE_MS,
  createTenantCa,
  issueClientCertificate,
  issueServingCertificate,
  signCsr,
  tenantCaSubject,
} from '../../../src/pki/index.ts';
import type { SupportedKey } from '../../../src/pki/keys.ts';
import { createCsrPem, generateKeys } from './csr.ts';

/** The TBSCertificate of a DER certificate: the first element inside the outer SEQUENCE. */
function tbsOf(der: Uint8Array): Buffer {
  const bytes = Buffer.from(der);
  const header = (at: number) => {
    const first = bytes[at + 1]!;
    if (first < 0x80) return { start: at + 2, length: first };
    let length = 0;
    for (let i = 0; i < (first & 0x7f); i++) length = length * 256 + bytes[at + 2 + i]!;
    return { start: at + 2 + (first & 0x7f), length };
  };
  const inner = header(0).start;
  const tbs = header(inner);
  return bytes.subarray(inner, tbs.start + tbs.length);
}

type Algorithm = { generate: webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams; kind: SupportedKey };
const P256: Algorithm = {
  generate: { name: 'ECDSA', namedCurve: 'P-256' },
  kind: { kind: 'ecdsa', curve: 'P-256' },
};
const P384: Algorithm = {
  generate: { name: 'ECDSA', namedCurve: 'P-384' },
  kind: { kind: 'ecdsa', curve: 'P-384' },
};
const RSA: Algorithm = {
  generate: {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
  kind: { kind: 'rsa', bits: 2048 },
};

const generate = async (algorithm: Algorithm) =>
  (await webcrypto.subtle.generateKey(algorithm.generate, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;

const signAlgorithm = (algorithm: Algorithm) =>
  algorithm.kind.kind === 'rsa'
    ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    : { name: 'ECDSA', hash: algorithm.kind.curve === 'P-384' ? 'SHA-384' : 'SHA-256' };

/**
 * Signs the same certificate with @peculiar/x509's generator and with signCertificate and returns both: the
 * TBS must be byte for byte the same (signatures differ: ECDSA is randomised).
 */
async function bothWays(options: {
  issuer: Algorithm;
  subjectKey: Algorithm;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  hosts?: string[];
  selfSigned?: boolean;
}) {
  const issuerKeys = await generate(options.issuer);
  const subjectKeys = options.selfSigned ? issuerKeys : await generate(options.subjectKey);
  const issuerName = 'CN=tenantmesh acme CA, O=tenantmesh, OU=acme';
  const subject: x509.JsonName = options.selfSigned
    ? new x509.Name(issuerName).toJSON()
    : [{ CN: ['*.acme.example.test'] }, { O: ['tenantmesh'] }];
  const basic = new x509.BasicConstraintsExtension(options.selfSigned ?? false, undefined, true);
  const usage = new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true);
  const eku = new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false);
  const theirs = await x509.X509CertificateGenerator.create({
    subject,
    issuer: issuerName,
    publicKey: subjectKeys.publicKey,
    signingKey: issuerKeys.privateKey,
    signingAlgorithm: signAlgorithm(options.issuer),
    serialNumber: options.serialNumber,
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    extensions: [
      basic,
      usage,
      eku,
      await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuerKeys.publicKey),
      ...(options.hosts
        ? [
            new x509.SubjectAlternativeNameExtension(
              options.hosts.map((host) => ({
                type: /^[\d.:]+$/.test(host) ? ('ip' as const) : ('dns' as const),
                value: host,
              })),
            ),
          ]
        : []),
    ],
  });
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', subjectKeys.publicKey));
  const issuerSpki = new Uint8Array(await webcrypto.subtle.exportKey('spki', issuerKeys.publicKey));
  const ours = signCertificate({
    serialNumber: options.serialNumber,
    issuer: new Uint8Array(new x509.Name(issuerName).toArrayBuffer()),
    subject: new Uint8Array(new x509.Name(subject).toArrayBuffer()),
    notBefore: options.notBefore,
    notAfter: options.notAfter,
    subjectPublicKeyInfo: spki,
    extensions: [
      new Uint8Array(basic.rawData),
      new Uint8Array(usage.rawData),
      new Uint8Array(eku.rawData),
      subjectKeyIdentifierExtension(keyIdentifier(spki)),
      authorityKeyIdentifierExtension(keyIdentifier(issuerSpki)),
      ...(options.hosts ? [subjectAltNameExtension(options.hosts)] : []),
    ],
    signer: { privateKey: KeyObject.from(issuerKeys.privateKey), key: options.issuer.kind },
  });
  return {
    theirs: new Uint8Array(theirs.rawData),
    ours,
    issuerPublicKey: KeyObject.from(issuerKeys.publicKey),
  };
}

/** bothWays, then the two checks every case makes: the same TBS, and a signature the issuer's key verifies. */
async function signedLikeTheGenerator(options: Parameters<typeof bothWays>[0]): Promise<X509Certificate> {
  const { theirs, ours, issuerPublicKey } = await bothWays(options);
  expect(tbsOf(ours).equals(tbsOf(theirs))).toBe(true);
  const cert = new X509Certificate(ours);
  expect(cert.verify(issuerPublicKey)).toBe(true);
  return cert;
}

describe('certificates signed without @peculiar/x509 generator', () => {
  it('are the generator’s bytes for a serving certificate from a P-256 CA, signed by that CA', async () => {
    const cert = await signedLikeTheGenerator({
      issuer: P256,
      subjectKey: P256,
      serialNumber: '7f0102030405060708090a0b0c0d0e0f',
      notBefore: new Date('2030-06-01T11:55:00.123Z'),
      notAfter: new Date('2030-08-30T12:00:00.987Z'),
      hosts: ['*.acme.example.test'],
    });
    expect(cert.subjectAltName).toBe('DNS:*.acme.example.test');
    expect(cert.validFrom).toBe('Jun  1 11:55:00 2030 GMT');
  });

  it('are the generator’s bytes for a self-signed CA and a serial with the top bit set', async () => {
    await signedLikeTheGenerator({
      issuer: P256,
      subjectKey: P256,
      selfSigned: true,
      serialNumber: '00ff0102',
      notBefore: new Date('2030-06-01T11:55:00Z'),
      notAfter: new Date('2040-05-30T12:00:00Z'),
    });
  });

  it('are the generator’s bytes with a P-384 CA (ECDSA with SHA-384)', async () => {
    await signedLikeTheGenerator({
      issuer: P384,
      subjectKey: P256,
      serialNumber: '0a0b0c',
      notBefore: new Date('2030-06-01T11:55:00Z'),
      notAfter: new Date('2030-07-01T12:00:00Z'),
      hosts: ['a.example.test', 'b.example.test'],
    });
  });

  it('are the generator’s bytes with an RSA CA, an IP address and a date after 2049', async () => {
    const cert = await signedLikeTheGenerator({
      issuer: RSA,
      subjectKey: P256,
      serialNumber: '1234',
      notBefore: new Date('2049-12-31T23:55:00.500Z'),
      notAfter: new Date('2060-01-01T00:00:00.250Z'),
      hosts: ['gw.example.test', '10.0.0.1'],
    });
    expect(cert.validTo).toBe('Jan  1 00:00:00 2060 GMT');
  });

  it('write PEM as the generator does', async () => {
    const { theirs } = await bothWays({
      issuer: P256,
      subjectKey: P256,
      serialNumber: '01',
      notBefore: new Date('2030-06-01T11:55:00Z'),
      notAfter: new Date('2030-07-01T12:00:00Z'),
    });
    expect(certificatePem(theirs)).toBe(new x509.X509Certificate(theirs).toString('pem'));
  });
});

/**
 * What the issuing functions produce, rebuilt with @peculiar/x509's generator the way they built it before
 * (same profile, and the serial number, validity and key read back from the certificate): the TBSCertificate
 * must be the same bytes, and Node's OpenSSL must accept the signature and the chain.
 */
describe('every certificate kind the platform issues is the generator’s bytes', () => {
  const now = new Date('2030-06-01T12:00:00.456Z');
  const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' };

  /** A CA as stored in a Secret, with its WebCrypto signing key and the algorithm the old code signed with. */
  async function caOf(certPem: string, keyPem: string, signingAlgorithm: object) {
    const cert = new x509.X509Certificate(certPem);
    const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
    const algorithm = cert.publicKey.algorithm as
      webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
    const importAlg = algorithm.name === 'ECDSA' ? algorithm : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const signingKey = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign']);
    return { tenantCa: { certPem, keyPem }, cert, signingKey, signingAlgorithm };
  }

  /** A bring-your-own CA made with @peculiar/x509 (as an admin's tooling would). */
  async function byoCa(algorithm: Algorithm) {
    const keys = await generate(algorithm);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=byo CA, O=example',
      keys,
      serialNumber: '42',
      notBefore: new Date(now.getTime() - 86_400_000),
      notAfter: new Date(now.getTime() + 3650 * 86_400_000),
      signingAlgorithm: signAlgorithm(algorithm),
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    });
    const keyPem = createPrivateKey({
      key: Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
      format: 'der',
      type: 'pkcs8',
    }).export({ type: 'pkcs8', format: 'pem' }) as string;
    return caOf(cert.toString('pem'), keyPem, signAlgorithm(algorithm));
  }

  /** The leaf as the generator builds it from the old code's profile; returns its TBS. */
  async function rebuiltLeaf(
    ca: Awaited<ReturnType<typeof caOf>>,
    certPem: string,
    profile: { subject: x509.JsonName; usage: x509.ExtendedKeyUsage; rsaKey?: boolean; hosts?: string[] },
  ) {
    const issued = new x509.X509Certificate(certPem);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        profile.rsaKey
          ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
          : x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([profile.usage], false),
      await x509.SubjectKeyIdentifierExtension.create(issued.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ];
    if (profile.hosts) {
      extensions.push(
        new x509.SubjectAlternativeNameExtension(
          profile.hosts.map((host) => ({
            type: /^[\d.:]+$/.test(host) ? ('ip' as const) : ('dns' as const),
            value: host,
          })),
          false,
        ),
      );
    }
    const rebuilt = await x509.X509CertificateGenerator.create({
      subject: profile.subject,
      issuer: ca.cert.subjectName,
      publicKey: issued.publicKey,
      signingKey: ca.signingKey,
      signingAlgorithm: ca.signingAlgorithm,
      serialNumber: issued.serialNumber,
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      extensions,
    });
    return tbsOf(new Uint8Array(rebuilt.rawData));
  }

  function acceptedByOpenSsl(certPem: string, ca: Awaited<ReturnType<typeof caOf>>) {
    const cert = new X509Certificate(certPem);
    const issuer = new X509Certificate(ca.tenantCa.certPem);
    expect(cert.verify(issuer.publicKey)).toBe(true);
    expect(cert.checkIssued(issuer)).toBe(true);
  }

  const derOf = (pem: string) => new Uint8Array(new x509.X509Certificate(pem).rawData);

  it('a generated tenant CA', async () => {
    const created = await createTenantCa({ tenant: 'acme', now });
    const cert = new x509.X509Certificate(created.certPem);
    const publicKey = await cert.publicKey.export();
    const privateKey = await webcrypto.subtle.importKey(
      'pkcs8',
      createPrivateKey(created.keyPem).export({ type: 'pkcs8', format: 'der' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      false,
      ['sign'],
    );
    const rebuilt = await x509.X509CertificateGenerator.createSelfSigned({
      name: tenantCaSubject('acme'),
      keys: { publicKey, privateKey },
      serialNumber: cert.serialNumber,
      notBefore: new Date(now.getTime() - CLOCK_SKEW_ALLOWANCE_MS),
      notAfter: new Date(now.getTime() + 3650 * 86_400_000),
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(publicKey),
      ],
    });
    expect(tbsOf(derOf(created.certPem)).equals(tbsOf(new Uint8Array(rebuilt.rawData)))).toBe(true);
    const node = new X509Certificate(created.certPem);
    expect(node.verify(node.publicKey)).toBe(true);
    expect(node.checkIssued(node)).toBe(true);
    expect(created.fingerprintSha256).toBe(node.fingerprint256);
    expect(created.certPem).toBe(cert.toString('pem'));
  });

  it('a serving certificate from a generated CA', async () => {
    const created = await createTenantCa({ tenant: 'acme', now });
    const ca = await caOf(created.certPem, created.keyPem, ECDSA_SHA256);
    const hosts = ['*.acme.example.test'];
    const issued = await issueServingCertificate(created, { hosts, validityDays: 90, now });
    const tbs = await rebuiltLeaf(ca, issued.certPem, {
      subject: [{ CN: [hosts[0]!] }, { O: ['tenantmesh'] }],
      usage: x509.ExtendedKeyUsage.serverAuth,
      hosts,
    });
    expect(tbsOf(derOf(issued.certPem)).equals(tbs)).toBe(true);
    acceptedByOpenSsl(issued.certPem, ca);
    expect(issued.fingerprintSha256).toBe(new X509Certificate(issued.certPem).fingerprint256);
    expect(issued.notAfter).toEqual(new x509.X509Certificate(issued.certPem).notAfter);
  });

  it('a serving certificate with an IP address from a P-384 CA brought by the tenant', async () => {
    const ca = await byoCa(P384);
    const hosts = ['gw.example.test', '10.1.2.3'];
    const issued = await issueServingCertificate(ca.tenantCa, { hosts, validityDays: 30, now });
    const tbs = await rebuiltLeaf(ca, issued.certPem, {
      subject: [{ CN: ['gw.example.test'] }, { O: ['tenantmesh'] }],
      usage: x509.ExtendedKeyUsage.serverAuth,
      hosts,
    });
    expect(tbsOf(derOf(issued.certPem)).equals(tbs)).toBe(true);
    acceptedByOpenSsl(issued.certPem, ca);
  });

  it('a client certificate with a generated key, from a generated CA and from an RSA CA', async () => {
    const created = await createTenantCa({ tenant: 'acme', now });
    for (const ca of [await caOf(created.certPem, created.keyPem, ECDSA_SHA256), await byoCa(RSA)]) {
      const issued = await issueClientCertificate(ca.tenantCa, {
        commonName: 'scoring-job',
        tenant: 'acme',
        validityDays: 30,
        now,
      });
      const tbs = await rebuiltLeaf(ca, issued.certPem, {
        subject: [{ CN: ['scoring-job'] }, { O: ['acme'] }],
        usage: x509.ExtendedKeyUsage.clientAuth,
      });
      expect(tbsOf(derOf(issued.certPem)).equals(tbs)).toBe(true);
      acceptedByOpenSsl(issued.certPem, ca);
    }
  });

  it('a client certificate for a CSR, with an ECDSA and an RSA key and a given serial', async () => {
    const created = await createTenantCa({ tenant: 'acme', now });
    const ca = await caOf(created.certPem, created.keyPem, ECDSA_SHA256);
    for (const [keys, rsaKey, serialNumber] of [
      [await generateKeys({ ec: 'P-256' }), false, undefined],
      [await generateKeys({ rsaBits: 2048 }), true, 'ff00aa'],
    ] as const) {
      const csrPem = await createCsrPem(keys, 'CN=whatever, O=other');
      const issued = await signCsr(ca.tenantCa, csrPem, {
        commonName: 'scoring-job',
        tenant: 'acme',
        validityDays: 30,
        now,
        ...(serialNumber ? { serialNumber } : {}),
      });
      const tbs = await rebuiltLeaf(ca, issued.certPem, {
        subject: [{ CN: ['scoring-job'] }, { O: ['acme'] }],
        usage: x509.ExtendedKeyUsage.clientAuth,
        rsaKey,
      });
      expect(tbsOf(derOf(issued.certPem)).equals(tbs)).toBe(true);
      acceptedByOpenSsl(issued.certPem, ca);
      if (serialNumber) expect(issued.serialNumber).toBe(serialNumber);
    }
  });
});
