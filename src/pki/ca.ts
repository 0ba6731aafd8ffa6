import { createHash, webcrypto, type KeyObject } from 'node:crypto';
import {
  certificatePem,
  fixedExtension,
  keyIdentifier,
  signCertificate,
  subjectKeyIdentifierExtension,
} from './certificate.ts';
import { wholeSecond } from './der.ts';
import { InvalidCaError, InvalidCertificateRequestError } from './errors.ts';
import {
  classifyKey,
  countPemCertificates,
  generateP256Key,
  randomSerialNumber,
  readCertificate,
  readPrivateKey,
  samePublicKey,
  signingParams,
  x509,
} from './keys.ts';
import type { CryptoKey, SigningAlgorithm, SupportedKey } from './keys.ts';

/** A tenant CA as stored in its Secret: certificate and PKCS#8 private key, both PEM. */
export interface TenantCa {
  certPem: string;
  /** PKCS#8 PEM. Secret material: never log it. */
  keyPem: string;
  /** SHA-256 fingerprint of the certificate, upper-case hex pairs joined by colons (as OpenSSL and Node print it). */
  fingerprintSha256: string;
}

/** Options for {@link createTenantCa}. */
export interface CreateTenantCaOptions {
  tenant: string;
  /** Lifetime of the CA certificate in days (default 3650). */
  validityDays?: number;
  /** The clock; tests inject it. */
  now: Date;
}

/**
 * Certificates are dated a little in the past so a verifier whose clock is slightly behind ours still accepts
 * them (the same allowance cfssl and cert-manager's issuers make).
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;

/** The subject of a generated tenant CA. */
export function tenantCaSubject(tenant: string): string {
  return `CN=tenantmesh ${tenant} CA, O=tenantmesh, OU=${tenant}`;
}

/**
 * Generates a tenant's own CA: ECDSA P-256, self-signed, basicConstraints cA (path length 0, critical),
 * keyUsage keyCertSign + cRLSign (critical). Path length 0 because the CA signs only end-entity certificates.
 */
export async function createTenantCa(options: CreateTenantCaOptions): Promise<TenantCa> {
  const validityDays = options.validityDays ?? 3650;
  assertValidityDays(validityDays);
  const generated = generateP256Key();
  const spki = generated.subjectPublicKeyInfo;
  const name = new Uint8Array(new x509.Name(tenantCaSubject(options.tenant)).toArrayBuffer());
  const keyId = keyIdentifier(spki);
  const notBefore = new Date(options.now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const notAfter = new Date(options.now.getTime() + validityDays * DAY_MS);
  const privateKey = generated.privateKey;
  const key: SupportedKey = { kind: 'ecdsa', curve: 'P-256' };
  const der = signCertificate({
    serialNumber: randomSerialNumber(),
    issuer: name,
    subject: name,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    extensions: [
      fixedExtension('ca-basic-constraints', () => new x509.BasicConstraintsExtension(true, 0, true)),
      fixedExtension(
        'ca-key-usage',
        () =>
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
            true,
          ),
      ),
      subjectKeyIdentifierExtension(keyId),
    ],
    signer: { privateKey, key },
  });
  const certPem = certificatePem(der);
  const keyPem = generated.keyPem;
  // A new CA is used to sign at once (the operator issues the tenant's serving certificate next): it is known
  // good, so it is remembered as checked, with the key it was made with. Its certificate is parsed only if
  // something asks for it (a CRL's issuer), its WebCrypto signing key imported only for a CRL.
  let parsed: x509.X509Certificate | undefined;
  const loaded: LoadedCa = {
    get cert() {
      parsed ??= new x509.X509Certificate(der);
      return parsed;
    },
    privateKey,
    key,
    notBefore: wholeSecond(notBefore),
    notAfter: wholeSecond(notAfter),
    subjectName: name,
    keyIdentifier: keyId,
  };
  rememberCheckedCa(checkedCaKey({ certPem, keyPem }), loaded);
  return { certPem, keyPem, fingerprintSha256: fingerprintOfDer(der) };
}

/**
 * Validates a bring-your-own CA (certificate + key PEM, as found in the tenant's Secret) and returns it in the
 * same shape as a generated one, with the key re-encoded as PKCS#8.
 * Throws {@link InvalidCaError} naming the first failed check.
 */
export function importTenantCa(certPem: string, keyPem: string, options: { now: Date }): TenantCa {
  const loaded = loadCa({ certPem, keyPem }, options.now);
  return {
    certPem: loaded.cert.toString('pem'),
    keyPem: loaded.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    fingerprintSha256: fingerprintOf(certPem),
  };
}

/** A CA ready to sign: parsed certificate, key and its classification, and what a certificate it signs needs. */
export interface LoadedCa {
  readonly cert: x509.X509Certificate;
  privateKey: KeyObject;
  key: SupportedKey;
  notBefore: Date;
  notAfter: Date;
  /** DER of the CA's subject: the issuer of what it signs. */
  subjectName: Uint8Array;
  /** The CA's key identifier (RFC 5280 method 1), for the authorityKeyIdentifier of what it signs. */
  keyIdentifier: Uint8Array;
}

/**
 * CAs that passed every check that does not depend on the time, by certificate and key PEM. The operator
 * signs with each tenant's CA right after creating it and again at every renewal, and the API with it for
 * every client certificate; parsing both PEMs, classifying the key and matching it to the certificate was a
 * third of issuing one. The validity period is still checked on every use.
 */
const checkedCas = new Map<string, LoadedCa>();
const CHECKED_CAS_KEPT = 256;
/** The WebCrypto signing key of each checked CA, imported once. */
const signingKeys = new WeakMap<LoadedCa, Promise<{ signingKey: CryptoKey; signAlg: SigningAlgorithm }>>();

const checkedCaKey = (ca: Pick<TenantCa, 'certPem' | 'keyPem'>) => `${ca.certPem}\u0000${ca.keyPem}`;

function rememberCheckedCa(key: string, loaded: LoadedCa): void {
  if (checkedCas.size >= CHECKED_CAS_KEPT) checkedCas.delete(checkedCas.keys().next().value!);
  checkedCas.set(key, loaded);
}

/** Parses and checks a CA for signing at `now`; every failure is an {@link InvalidCaError}. */
export function loadCa(ca: Pick<TenantCa, 'certPem' | 'keyPem'>, now: Date): LoadedCa {
  const cacheKey = checkedCaKey(ca);
  const checked = checkedCas.get(cacheKey);
  if (checked) {
    assertValidAt(checked, now);
    return checked;
  }
  if (countPemCertificates(ca.certPem) !== 1) {
    throw new InvalidCaError('malformed', 'the CA certificate must be exactly one PEM certificate');
  }
  const nodeCert = readCertificate(ca.certPem);
  if (!nodeCert)
    throw new InvalidCaError('malformed', 'the CA certificate is not a readable PEM certificate');
  const cert = new x509.X509Certificate(ca.certPem);

  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) {
    throw new InvalidCaError('not-a-ca', 'the certificate is not a CA (basicConstraints cA is not true)');
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  // RFC 5280 4.2.1.3: without a keyUsage extension the key is not restricted; with one it must allow keyCertSign.
  if (usage && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new InvalidCaError(
      'cannot-sign-certificates',
      'the CA certificate keyUsage does not include keyCertSign',
    );
  }
  assertValidAt(cert, now);

  const privateKey = readPrivateKey(ca.keyPem);
  if (!privateKey)
    throw new InvalidCaError('malformed', 'the CA private key is not a readable PEM private key');
  const key = classifyKey(privateKey);
  if ('refused' in key) throw new InvalidCaError('unsupported-key', `the CA key is refused: ${key.why}`);
  if (!samePublicKey(privateKey, nodeCert.publicKey)) {
    throw new InvalidCaError('key-mismatch', 'the private key does not belong to the CA certificate');
  }
  const loaded: LoadedCa = {
    cert,
    privateKey,
    key,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    subjectName: new Uint8Array(cert.subjectName.toArrayBuffer()),
    keyIdentifier: keyIdentifier(new Uint8Array(cert.publicKey.rawData)),
  };
  rememberCheckedCa(cacheKey, loaded);
  return loaded;
}

function assertValidAt(cert: { notBefore: Date; notAfter: Date }, now: Date): void {
  if (now < cert.notBefore) {
    throw new InvalidCaError(
      'not-yet-valid',
      `the CA certificate is not valid before ${cert.notBefore.toISOString()}`,
    );
  }
  if (now > cert.notAfter) {
    throw new InvalidCaError('expired', `the CA certificate expired at ${cert.notAfter.toISOString()}`);
  }
}

/** Imports the CA's private key into WebCrypto for signing with @peculiar/x509 (once per checked CA). */
export function caSigningKey(ca: LoadedCa): Promise<{ signingKey: CryptoKey; signAlg: SigningAlgorithm }> {
  let imported = signingKeys.get(ca);
  if (!imported) {
    const { importAlg, signAlg } = signingParams(ca.key);
    const der = ca.privateKey.export({ type: 'pkcs8', format: 'der' });
    imported = webcrypto.subtle
      .importKey('pkcs8', der, importAlg, false, ['sign'])
      .then((signingKey) => ({ signingKey, signAlg }));
    imported.catch(() => signingKeys.delete(ca));
    signingKeys.set(ca, imported);
  }
  return imported;
}

/** SHA-256 fingerprint of a PEM certificate, as Node prints it (`AB:CD:…`). */
export function fingerprintOf(certPem: string): string {
  const cert = readCertificate(certPem);
  if (!cert) throw new InvalidCaError('malformed', 'not a readable PEM certificate');
  return cert.fingerprint256;
}

/**
 * The same fingerprint of a certificate just built, from its DER: the hash of those bytes is all a fingerprint
 * is, and parsing the certificate again only to hash it cost as much as signing it.
 */
export function fingerprintOfDer(der: ArrayBuffer | Uint8Array): string {
  const hex = createHash('sha256').update(new Uint8Array(der)).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** Rejects validity periods that are not a positive whole number of days. */
export function assertValidityDays(days: number): void {
  if (!Number.isInteger(days) || days < 1 || days > 36500) {
    throw new InvalidCertificateRequestError(
      'validityDays',
      'validityDays must be a whole number from 1 to 36500',
    );
  }
}
