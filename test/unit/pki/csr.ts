import 'reflect-metadata';
import { sign, webcrypto } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * Test-only CSR builders. `buildCsrDer` assembles a PKCS#10 request by hand so tests can use keys WebCrypto
 * cannot (curves such as secp256k1), signed with Node's crypto.
 */

function tlv(tag: number, content: Buffer): Buffer {
  const length =
    content.length < 0x80
      ? Buffer.from([content.length])
      : content.length < 0x100
        ? Buffer.from([0x81, content.length])
        : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

const SEQUENCE = 0x30;
const ECDSA_WITH_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
const COMMON_NAME_OID = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);

/** A PEM CSR for `commonName` carrying `publicKey`, signed (ECDSA with SHA-256) by `privateKey`. */
export function buildEcCsrPem(commonName: string, publicKey: KeyObject, privateKey: KeyObject): string {
  const name = tlv(
    SEQUENCE,
    tlv(0x31, tlv(SEQUENCE, Buffer.concat([COMMON_NAME_OID, tlv(0x0c, Buffer.from(commonName))]))),
  );
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const info = tlv(
    SEQUENCE,
    Buffer.concat([Buffer.from([0x02, 0x01, 0x00]), name, spki, Buffer.from([0xa0, 0x00])]),
  );
  const signature = sign('sha256', info, privateKey);
  const der = tlv(
    SEQUENCE,
    Buffer.concat([
      info,
      tlv(SEQUENCE, ECDSA_WITH_SHA256),
      tlv(0x03, Buffer.concat([Buffer.from([0]), signature])),
    ]),
  );
  return `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

type WebKeyPair = webcrypto.CryptoKeyPair;

/** Generates a WebCrypto key pair for CSRs: ECDSA on a named curve or RSA of a given size. */
export async function generateKeys(
  spec: { ec: 'P-256' | 'P-384' | 'P-521' } | { rsaBits: number },
): Promise<WebKeyPair> {
  const algorithm =
    'ec' in spec
      ? { name: 'ECDSA', namedCurve: spec.ec }
      : {
          name: 'RSASSA-PKCS1-v1_5',
          modulusLength: spec.rsaBits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: 'SHA-256',
        };
  return (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as WebKeyPair;
}

/**
 * A CSR made with @peculiar/x509 asking for `subject` and, optionally, extensions the server must ignore.
 * `signWith` signs with a different private key than the one whose public half the CSR carries.
 */
export async function createCsrPem(
  keys: WebKeyPair,
  subject: string,
  options: { extensions?: x509.Extension[]; signWith?: webcrypto.CryptoKey } = {},
): Promise<string> {
  const isEc = keys.publicKey.algorithm.name === 'ECDSA';
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: { publicKey: keys.publicKey, privateKey: options.signWith ?? keys.privateKey },
    signingAlgorithm: isEc ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' },
    extensions: options.extensions ?? [],
  });
  return csr.toString('pem');
}
