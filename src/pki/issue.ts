import { isIP } from 'node:net';
import { CLOCK_SKEW_ALLOWANCE_MS, assertValidityDays, fingerprintOfDer, loadCa } from './ca.ts';
import type { LoadedCa, TenantCa } from './ca.ts';
import {
  authorityKeyIdentifierExtension,
  certificatePem,
  fixedExtension,
  keyIdentifier,
  signCertificate,
  subjectAltNameExtension,
  subjectKeyIdentifierExtension,
} from './certificate.ts';
import { wholeSecond } from './der.ts';
import { InvalidCertificateRequestError, InvalidCsrError } from './errors.ts';
import {
  classifyKey,
  derSerialHex,
  generateP256Key,
  normaliseSerialNumber,
  randomSerialNumber,
  readSpki,
  x509,
} from './keys.ts';
import type { SupportedKey } from './keys.ts';

/** A certificate just signed by a tenant CA. */
export interface IssuedCertificate {
  certPem: string;
  /** Lower-case hex, no leading zero bytes: the form CRLs and the API use. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  fingerprintSha256: string;
}

/** An issued certificate together with the private key generated for it (returned once, never stored). */
export interface IssuedCertificateWithKey extends IssuedCertificate {
  /** PKCS#8 PEM. Secret material: never log it. */
  keyPem: string;
}

/** What the server decides for a client certificate, whatever a CSR asked for. */
export interface ClientCertificatePolicy {
  /** Becomes the subject CN, and through {@link certificateIdentity} the RBAC username. */
  commonName: string;
  /** Becomes the subject O. */
  tenant: string;
  /** Lifetime in days; capped at the CA's own expiry. */
  validityDays: number;
  now: Date;
  /** Hex serial number; random 128-bit when omitted. */
  serialNumber?: string;
}

/** Options for {@link issueServingCertificate}. */
export interface ServingCertificateOptions {
  /** DNS names (a leading `*.` wildcard label is allowed) and IP addresses for the subjectAltName. */
  hosts: string[];
  validityDays: number;
  now: Date;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const COMMON_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const TENANT = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** X.520 upper bound for commonName. */
const MAX_CN_LENGTH = 64;

/**
 * Issues the gateway's serving certificate for a tenant: subjectAltName with every host, extendedKeyUsage
 * serverAuth, not a CA. Returns the generated key once.
 */
export async function issueServingCertificate(
  ca: Pick<TenantCa, 'certPem' | 'keyPem'>,
  options: ServingCertificateOptions,
): Promise<IssuedCertificateWithKey> {
  assertValidityDays(options.validityDays);
  if (options.hosts.length === 0)
    throw new InvalidCertificateRequestError('hosts', 'at least one host is required');
  for (const host of options.hosts) assertHost(host);
  const loaded = loadCa(ca, options.now);
  const generated = generateP256Key();
  const first = options.hosts[0]!;
  // The CN is legacy for TLS servers (clients match the SAN), kept for humans when it fits.
  const subject: x509.JsonName =
    first.length <= MAX_CN_LENGTH ? [{ CN: [first] }, { O: ['tenantmesh'] }] : [{ O: ['tenantmesh'] }];
  const issued = signLeaf(loaded, {
    subject,
    subjectPublicKeyInfo: generated.subjectPublicKeyInfo,
    key: { kind: 'ecdsa', curve: 'P-256' },
    usage: x509.ExtendedKeyUsage.serverAuth,
    hosts: options.hosts,
    validityDays: options.validityDays,
    now: options.now,
  });
  return { ...issued, keyPem: generated.keyPem };
}

/**
 * Issues a client certificate with a freshly generated ECDSA P-256 key: CN = policy.commonName,
 * O = policy.tenant, extendedKeyUsage clientAuth, not a CA. The key is returned once and never stored.
 */
export async function issueClientCertificate(
  ca: Pick<TenantCa, 'certPem' | 'keyPem'>,
  policy: ClientCertificatePolicy,
): Promise<IssuedCertificateWithKey> {
  assertClientPolicy(policy);
  const loaded = loadCa(ca, policy.now);
  const generated = generateP256Key();
  const issued = signLeaf(loaded, {
    subject: clientSubject(policy),
    subjectPublicKeyInfo: generated.subjectPublicKeyInfo,
    key: { kind: 'ecdsa', curve: 'P-256' },
    usage: x509.ExtendedKeyUsage.clientAuth,
    validityDays: policy.validityDays,
    now: policy.now,
    serialNumber: policy.serialNumber,
  });
  return { ...issued, keyPem: generated.keyPem };
}

/**
 * Signs a PKCS#10 CSR as a client certificate. Only the CSR's public key is used, after its signature (proof
 * of possession) and key type/size are checked; subject, extensions and usages all come from `policy`, so a
 * CSR asking for another CN, serverAuth or a CA certificate gets exactly what a generated-key request gets.
 */
export async function signCsr(
  ca: Pick<TenantCa, 'certPem' | 'keyPem'>,
  csrPem: string,
  policy: ClientCertificatePolicy,
): Promise<IssuedCertificate> {
  assertClientPolicy(policy);
  const loaded = loadCa(ca, policy.now);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch {
    throw new InvalidCsrError('malformed', 'the CSR is not a readable PEM certificate request');
  }
  const publicKey = readSpki(csr.publicKey.rawData);
  if (!publicKey) throw new InvalidCsrError('unsupported-key', 'the CSR public key cannot be read');
  const key = classifyKey(publicKey);
  if ('refused' in key) {
    throw new InvalidCsrError(
      key.refused === 'weak' ? 'weak-key' : 'unsupported-key',
      `the CSR key is refused: ${key.why}`,
    );
  }
  if (!(await csrSignatureIsValid(csr))) {
    throw new InvalidCsrError('bad-signature', 'the CSR signature does not verify with the key it carries');
  }
  return signLeaf(loaded, {
    subject: clientSubject(policy),
    subjectPublicKeyInfo: new Uint8Array(csr.publicKey.rawData),
    key,
    usage: x509.ExtendedKeyUsage.clientAuth,
    validityDays: policy.validityDays,
    now: policy.now,
    serialNumber: policy.serialNumber,
  });
}

async function csrSignatureIsValid(csr: x509.Pkcs10CertificateRequest): Promise<boolean> {
  try {
    return await csr.verify();
  } catch {
    // A signature that cannot even be parsed is as bad as one that does not match.
    return false;
  }
}

interface LeafRequest {
  subject: x509.JsonName;
  /** DER SubjectPublicKeyInfo of the key being certified. */
  subjectPublicKeyInfo: Uint8Array;
  key: SupportedKey;
  usage: x509.ExtendedKeyUsage;
  hosts?: string[];
  validityDays: number;
  now: Date;
  serialNumber?: string | undefined;
}

function signLeaf(ca: LoadedCa, request: LeafRequest): IssuedCertificate {
  const serialNumber = normaliseSerialNumber(request.serialNumber ?? randomSerialNumber());
  const notBefore = new Date(request.now.getTime() - CLOCK_SKEW_ALLOWANCE_MS);
  const wanted = new Date(request.now.getTime() + request.validityDays * DAY_MS);
  // A certificate outliving its CA would only fail later and more confusingly.
  const notAfter = wanted > ca.notAfter ? ca.notAfter : wanted;
  // RSA keys also encipher in TLS 1.2 RSA key exchange; ECDSA keys only sign.
  const rsa = request.key.kind === 'rsa';
  const spki = request.subjectPublicKeyInfo;
  const extensions: Uint8Array[] = [
    fixedExtension(
      'leaf-basic-constraints',
      () => new x509.BasicConstraintsExtension(false, undefined, true),
    ),
    fixedExtension(
      rsa ? 'leaf-key-usage-rsa' : 'leaf-key-usage',
      () =>
        new x509.KeyUsagesExtension(
          rsa
            ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
            : x509.KeyUsageFlags.digitalSignature,
          true,
        ),
    ),
    fixedExtension(
      `extended-key-usage ${request.usage}`,
      () => new x509.ExtendedKeyUsageExtension([request.usage], false),
    ),
    subjectKeyIdentifierExtension(keyIdentifier(spki)),
    authorityKeyIdentifierExtension(ca.keyIdentifier),
  ];
  if (request.hosts) extensions.push(subjectAltNameExtension(request.hosts));
  const der = signCertificate({
    serialNumber: derSerialHex(serialNumber),
    issuer: ca.subjectName,
    subject: new Uint8Array(new x509.Name(request.subject).toArrayBuffer()),
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    extensions,
    signer: { privateKey: ca.privateKey, key: ca.key },
  });
  return {
    certPem: certificatePem(der),
    serialNumber,
    notBefore: wholeSecond(notBefore),
    notAfter: wholeSecond(notAfter),
    fingerprintSha256: fingerprintOfDer(der),
  };
}

function clientSubject(policy: ClientCertificatePolicy): x509.JsonName {
  return [{ CN: [policy.commonName] }, { O: [policy.tenant] }];
}

function assertClientPolicy(policy: ClientCertificatePolicy): void {
  if (!COMMON_NAME.test(policy.commonName)) {
    throw new InvalidCertificateRequestError(
      'commonName',
      'commonName must be 1-64 characters of letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
    );
  }
  if (!TENANT.test(policy.tenant)) {
    throw new InvalidCertificateRequestError('tenant', 'tenant must be a DNS label');
  }
  if (policy.serialNumber !== undefined && !/^[0-9a-fA-F]{1,40}$/.test(policy.serialNumber)) {
    throw new InvalidCertificateRequestError('serialNumber', 'serialNumber must be 1-40 hex digits');
  }
  if (policy.serialNumber !== undefined && /^0*$/.test(policy.serialNumber)) {
    throw new InvalidCertificateRequestError('serialNumber', 'serialNumber must be positive');
  }
  assertValidityDays(policy.validityDays);
}

function assertHost(host: string): void {
  if (isIP(host)) return;
  const labels = host.split('.');
  const bad = () =>
    new InvalidCertificateRequestError(
      'hosts',
      `"${host}" is not a DNS name, wildcard DNS name or IP address`,
    );
  if (host.length > 253 || labels.length < 1) throw bad();
  labels.forEach((label, index) => {
    // A wildcard is only meaningful as the whole leftmost label of a name with at least two more labels.
    if (label === '*' && index === 0 && labels.length >= 3) return;
    if (!DNS_LABEL.test(label)) throw bad();
  });
}
