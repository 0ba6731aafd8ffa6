// reflect-metadata must load before @peculiar/x509, which decorates its ASN.1 classes.
import 'reflect-metadata';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };

// The project compiles without the DOM lib, so the WebCrypto types come from Node.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
/** The WebCrypto signing algorithm for a CA key. */
export type SigningAlgorithm = webcrypto.EcdsaParams | webcrypto.RsaHashedImportParams;

/** Key algorithms tenantmesh accepts for CA keys and CSRs; anything else is refused by name. */
export type SupportedKey = { kind: 'ecdsa'; curve: 'P-256' | 'P-384' } | { kind: 'rsa'; bits: number };

/** Smallest RSA modulus accepted anywhere (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/**
 * Classifies a public or private key. Returns a string explaining the refusal when the key is of a type,
 * curve or size we do not accept.
 */
export function classifyKey(key: KeyObject): SupportedKey | { refused: 'unsupported' | 'weak'; why: string } {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = CURVES[details.namedCurve ?? ''];
    if (!curve) {
      return {
        refused: 'unsupported',
        why: `elliptic curve ${details.namedCurve ?? 'with explicit parameters'} is not supported (use P-256 or P-384)`,
      };
    }
    return { kind: 'ecdsa', curve };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      return { refused: 'weak', why: `RSA key of ${bits} bits is too small (minimum ${MIN_RSA_BITS})` };
    }
    return { kind: 'rsa', bits };
  }
  return {
    refused: 'unsupported',
    why: `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (use ECDSA P-256/P-384 or RSA)`,
  };
}

/** The WebCrypto parameters to import and sign with a key of this kind. */
export function signingParams(key: SupportedKey): {
  importAlg: EcKeyImportParams | RsaHashedImportParams;
  signAlg: SigningAlgorithm;
} {
  if (key.kind === 'ecdsa') {
    const hash = key.curve === 'P-384' ? 'SHA-384' : 'SHA-256';
    return {
      importAlg: { name: 'ECDSA', namedCurve: key.curve },
      signAlg: { name: 'ECDSA', hash },
    };
  }
  return {
    importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    signAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  };
}

/** Generates a fresh ECDSA P-256 key pair, extractable so the private key can be handed out once. */
export async function generateP256KeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
}

/** A fresh ECDSA P-256 key: the private key, its public half as DER SubjectPublicKeyInfo, and its PKCS#8 PEM. */
export interface GeneratedKey {
  privateKey: KeyObject;
  subjectPublicKeyInfo: Uint8Array;
  /** PKCS#8 PEM. Secret material: never log it. */
  keyPem: string;
}

/**
 * Generates an ECDSA P-256 key with Node's own key objects: the certificate needs the public key's DER and the
 * Secret the private key's, and WebCrypto's asynchronous generate and export calls cost more than the
 * OpenSSL work they wrap.
 */
export function generateP256Key(): GeneratedKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey,
    subjectPublicKeyInfo: publicKey.export({ type: 'spki', format: 'der' }),
    keyPem: derToPem(privateKey.export({ type: 'pkcs8', format: 'der' }), 'PRIVATE KEY'),
  };
}

/**
 * Exports a WebCrypto private key as a PKCS#8 PEM: the exported DER in base64 lines of 64 characters, as
 * OpenSSL writes it. Wrapping the DER directly saves decoding it into a key object only to encode it again
 * (OpenSSL 3's decoders made that a large share of issuing a certificate).
 */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return derToPem(Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
}

/** PEM armour around DER: base64 in lines of 64 characters (RFC 7468), ending with a newline. */
export function derToPem(der: Uint8Array, label: string): string {
  const base64 = Buffer.from(der).toString('base64');
  let body = '';
  for (let at = 0; at < base64.length; at += 64) body += `${base64.slice(at, at + 64)}\n`;
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}

/** Parses a PEM private key (PKCS#8, SEC1 or PKCS#1) into a Node KeyObject, or undefined if unreadable. */
export function readPrivateKey(pem: string): KeyObject | undefined {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return undefined;
  }
}

/** Reads a DER SubjectPublicKeyInfo into a Node KeyObject, or undefined if unreadable. */
export function readSpki(der: ArrayBuffer | Uint8Array): KeyObject | undefined {
  try {
    return createPublicKey({ key: Buffer.from(der as ArrayBuffer), format: 'der', type: 'spki' });
  } catch {
    return undefined;
  }
}

/** True when the two keys are the same public key (a private key is compared by its public half). */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  const spki = (k: KeyObject) =>
    (k.type === 'private' ? createPublicKey(k) : k).export({ type: 'spki', format: 'der' });
  return spki(a).equals(spki(b));
}

/**
 * A random positive serial number of 128 bits, as lower-case hex. The first byte is kept in 0x01–0x7f so the
 * DER integer needs no sign padding and the hex form is the same everywhere (certificate, CRL, API).
 */
export function randomSerialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/**
 * Normalises a hex serial number for comparison: lower case, no separators, no leading zero bytes.
 */
export function normaliseSerialNumber(serial: string): string {
  let hex = serial.toLowerCase().replace(/[^0-9a-f]/g, '');
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex.length % 2 === 1 ? `0${hex}` : hex;
}

/** DER integers are signed: a normalised serial whose first byte has the top bit set needs a zero byte in front. */
export function derSerialHex(normalisedSerial: string): string {
  return /^[89a-f]/.test(normalisedSerial) ? `00${normalisedSerial}` : normalisedSerial;
}

/** Reads a single PEM certificate with Node's own X.509 parser, or undefined if it is not one. */
export function readCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Number of PEM certificate blocks in a string. */
export function countPemCertificates(pem: string): number {
  return (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;
}
