import { createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  booleanTrue,
  explicit,
  objectIdentifier,
  octetString,
  positiveInteger,
  sequence,
  subjectPublicKeyBits,
  time,
  tlv,
} from './der.ts';
import { x509, type SupportedKey } from './keys.ts';

/**
 * Certificates assembled and signed directly: the same bytes @peculiar/x509's X509CertificateGenerator writes
 * for the same input (test/unit/pki/certificate.test.ts compares them), without its round trips through the
 * ASN.1 schema for every extension, name and key, and without parsing the finished certificate again.
 */
export interface CertificateToSign {
  /** Hex; encoded as a positive INTEGER (see {@link positiveInteger}). */
  serialNumber: string;
  /** DER Name of the issuer (the subject of the signing CA). */
  issuer: Uint8Array;
  /** DER Name of the subject. */
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the certified key. */
  subjectPublicKeyInfo: Uint8Array;
  /** DER Extensions, in order. */
  extensions: Uint8Array[];
  /** The issuer's private key and its kind, which picks the signature algorithm (as `signingParams` does). */
  signer: { privateKey: KeyObject; key: SupportedKey };
}

const ECDSA_WITH_SHA256 = sequence(objectIdentifier('1.2.840.10045.4.3.2'));
const ECDSA_WITH_SHA384 = sequence(objectIdentifier('1.2.840.10045.4.3.3'));
const SHA256_WITH_RSA = sequence(objectIdentifier('1.2.840.113549.1.1.11'), Buffer.from([0x05, 0x00]));
const VERSION_3 = explicit(0, Buffer.from([0x02, 0x01, 0x02]));

function signatureAlgorithm(key: SupportedKey): { identifier: Buffer; hash: string } {
  if (key.kind === 'rsa') return { identifier: SHA256_WITH_RSA, hash: 'sha256' };
  return key.curve === 'P-384'
    ? { identifier: ECDSA_WITH_SHA384, hash: 'sha384' }
    : { identifier: ECDSA_WITH_SHA256, hash: 'sha256' };
}

/** Assembles the TBSCertificate, signs it and returns the certificate's DER. */
export function signCertificate(request: CertificateToSign): Buffer {
  const algorithm = signatureAlgorithm(request.signer.key);
  const tbs = sequence(
    VERSION_3,
    positiveInteger(request.serialNumber),
    algorithm.identifier,
    request.issuer,
    sequence(time(request.notBefore), time(request.notAfter)),
    request.subject,
    request.subjectPublicKeyInfo,
    explicit(3, sequence(...request.extensions)),
  );
  // ECDSA signatures come out as the DER ECDSA-Sig-Value X.509 carries; RSA uses PKCS #1 v1.5.
  const signature = sign(algorithm.hash, tbs, { key: request.signer.privateKey, dsaEncoding: 'der' });
  return sequence(tbs, algorithm.identifier, bitString(signature));
}

/** PEM of a certificate's DER, formatted as @peculiar/x509 writes it (64-character lines, no final newline). */
export function certificatePem(der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = ['-----BEGIN CERTIFICATE-----'];
  for (let at = 0; at < base64.length; at += 64) lines.push(base64.slice(at, at + 64));
  lines.push('-----END CERTIFICATE-----');
  return lines.join('\n');
}

/** RFC 5280 key identifier (method 1): SHA-1 of the subjectPublicKey bits of a DER SubjectPublicKeyInfo. */
export function keyIdentifier(subjectPublicKeyInfo: Uint8Array): Buffer {
  return createHash('sha1').update(subjectPublicKeyBits(subjectPublicKeyInfo)).digest();
}

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  return critical
    ? sequence(objectIdentifier(oid), booleanTrue(), octetString(value))
    : sequence(objectIdentifier(oid), octetString(value));
}

export function subjectKeyIdentifierExtension(keyId: Uint8Array): Buffer {
  return extension('2.5.29.14', false, octetString(keyId));
}

export function authorityKeyIdentifierExtension(keyId: Uint8Array): Buffer {
  return extension('2.5.29.35', false, sequence(tlv(0x80, keyId)));
}

/** subjectAltName with DNS names; IP addresses are left to @peculiar/x509's encoder. */
export function subjectAltNameExtension(hosts: string[]): Uint8Array {
  if (hosts.some((host) => isIP(host) !== 0)) {
    const names = hosts.map((host) => ({
      type: isIP(host) ? ('ip' as const) : ('dns' as const),
      value: host,
    }));
    return new Uint8Array(new x509.SubjectAlternativeNameExtension(names, false).rawData);
  }
  return extension(
    '2.5.29.17',
    false,
    sequence(...hosts.map((host) => tlv(0x82, Buffer.from(host, 'ascii')))),
  );
}

/**
 * The extensions that are the same in every certificate of a kind (basic constraints, key usages), encoded
 * by @peculiar/x509 once and reused.
 */
const fixedExtensions = new Map<string, Uint8Array>();
export function fixedExtension(name: string, make: () => x509.Extension): Uint8Array {
  let der = fixedExtensions.get(name);
  if (!der) {
    der = new Uint8Array(make().rawData);
    fixedExtensions.set(name, der);
  }
  return der;
}
