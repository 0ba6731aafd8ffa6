import {
  createCrl,
  createTenantCa,
  fingerprintOf,
  importTenantCa,
  issueServingCertificate,
  normaliseSerialNumber,
  hostsAndValidity,
  summariseCrl,
  validityNeedsRotation,
} from '../pki/index.ts';
import type { HostsAndValidity } from '../pki/index.ts';
import type { StorageReadCredentials } from '../render/index.ts';

/**
 * What the operator needs from the object store. The model store (src/storage) satisfies it through
 * {@link storagePortFrom}; tests and the benchmark can pass a smaller one.
 */
export interface StoragePort {
  /** Creates the tenant's bucket if missing. */
  ensureBucket(tenant: string): Promise<void>;
  /** Removes the tenant's bucket and everything in it; a missing bucket is not an error. */
  removeBucket(tenant: string): Promise<void>;
  /** Read-only credentials for the tenant's bucket, valid for `ttlSeconds`. */
  issueReadCredentials(tenant: string, ttlSeconds: number): Promise<StorageReadCredentials>;
  /** The newest published version of a model, or undefined when it has none. */
  latestVersion(tenant: string, model: string): Promise<string | undefined>;
}

/** The subset of src/storage's ModelStore the adapter uses (structural, so no import cycle or coupling). */
export interface ModelStoreLike {
  ensureBucket(tenant: string): Promise<void>;
  removeBucket(tenant: string, options?: { purge?: boolean }): Promise<void>;
  issueReadCredentials(
    tenant: string,
    ttlSeconds: number,
  ): Promise<{ accessKey: string; secretKey: string; sessionToken: string; expiresAt: string }>;
  listVersions(tenant: string, model: string): Promise<{ version: string; publishedAt: string }[]>;
}

/** Adapts the model store to {@link StoragePort}: buckets are purged on removal, `latest` is the last published. */
export function storagePortFrom(store: ModelStoreLike): StoragePort {
  return {
    ensureBucket: (tenant) => store.ensureBucket(tenant),
    removeBucket: (tenant) => store.removeBucket(tenant, { purge: true }),
    async issueReadCredentials(tenant, ttlSeconds) {
      const issued = await store.issueReadCredentials(tenant, ttlSeconds);
      return {
        accessKey: issued.accessKey,
        secretKey: issued.secretKey,
        sessionToken: issued.sessionToken,
        expiresAt: issued.expiresAt,
      };
    },
    async latestVersion(tenant, model) {
      try {
        const versions = await store.listVersions(tenant, model);
        return versions.at(-1)?.version;
      } catch (err) {
        if ((err as { code?: string }).code === 'NotFound') return undefined;
        throw err;
      }
    },
  };
}

/** A CA certificate with its key (PEM), as stored in the tenant's CA Secret. */
export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** What the operator needs from the tenant PKI (src/pki). */
export interface PkiPort {
  createCa(tenant: string, now: Date): Promise<CaMaterial>;
  /** Validates a bring-your-own CA; throws when it cannot sign. */
  importCa(certPem: string, keyPem: string, now: Date): CaMaterial;
  issueServing(ca: CaMaterial, hosts: string[], now: Date): Promise<{ certPem: string; keyPem: string }>;
  /** True when a certificate should be replaced now (expired, near expiry or not valid yet). */
  needsRotation(certPem: string, now: Date): boolean;
  /** SHA-256 fingerprint of a certificate. */
  fingerprint(certPem: string): string;
  /** The DNS names and IPs a certificate covers. */
  hostsOf(certPem: string): string[];
  /** A CRL of the CA listing `revoked` (serials as issued), valid for a week. */
  createCrl(ca: CaMaterial, revoked: { serialNumber: string; revokedAt: Date }[], now: Date): Promise<string>;
  /** The revoked serials (normalised hex, sorted) and nextUpdate of a CRL. */
  summariseCrl(crlPem: string): { serialNumbers: string[]; nextUpdate: Date | undefined };
  /** A serial number in the form summariseCrl reports. */
  normaliseSerial(serialNumber: string): string;
}

/** Serving certificates live 90 days and are renewed with a third of that left (cert-manager's habit). */
export const SERVING_CERTIFICATE_DAYS = 90;

/**
 * Every reconcile asks about the same few certificates (is the serving certificate due, which hosts does it
 * cover). Certificates never change, so read each PEM once; a PEM that is no certificate (a hand-edited Secret)
 * covers no host and is due, so the reconcile issues a new one.
 */
const servingFacts = new Map<string, HostsAndValidity>();
const UNREADABLE: HostsAndValidity = { hosts: [], notBefore: new Date(0), notAfter: new Date(0) };
function servingFactsOnce(certPem: string): HostsAndValidity {
  let facts = servingFacts.get(certPem);
  if (!facts) {
    facts = hostsAndValidity(certPem) ?? UNREADABLE;
    remember(servingFacts, certPem, facts);
  }
  return facts;
}

/**
 * A CA's fingerprint is asked for on every reconcile; hashing the certificate needs only OpenSSL's parse, not
 * a full ASN.1 walk, which cost 1.5 ms per new tenant.
 */
const fingerprints = new Map<string, string>();
function fingerprintOnce(certPem: string): string {
  let fingerprint = fingerprints.get(certPem);
  if (fingerprint === undefined) {
    fingerprint = fingerprintOf(certPem);
    rememberFingerprint(certPem, fingerprint);
  }
  return fingerprint;
}
function rememberFingerprint(certPem: string, fingerprint: string): void {
  remember(fingerprints, certPem, fingerprint);
}

/** Stores a per-PEM answer, dropping the oldest past 2,048 (a tenant's few certificates, for every tenant). */
function remember<T>(cache: Map<string, T>, certPem: string, value: T): void {
  if (cache.size >= 2048) cache.delete(cache.keys().next().value!);
  cache.set(certPem, value);
}

/** The real PKI. */
export const defaultPki: PkiPort = {
  async createCa(tenant, now) {
    const ca = await createTenantCa({ tenant, now });
    // Asked for right after (the tenant's status), and known from the DER just signed.
    rememberFingerprint(ca.certPem, ca.fingerprintSha256);
    return { certPem: ca.certPem, keyPem: ca.keyPem };
  },
  importCa(certPem, keyPem, now) {
    const ca = importTenantCa(certPem, keyPem, { now });
    return { certPem: ca.certPem, keyPem: ca.keyPem };
  },
  async issueServing(ca, hosts, now) {
    const issued = await issueServingCertificate(ca, {
      hosts,
      validityDays: SERVING_CERTIFICATE_DAYS,
      now,
    });
    return { certPem: issued.certPem, keyPem: issued.keyPem };
  },
  needsRotation: (certPem, now) => validityNeedsRotation(servingFactsOnce(certPem), now),
  fingerprint: (certPem) => fingerprintOnce(certPem),
  hostsOf: (certPem) => servingFactsOnce(certPem).hosts,
  createCrl: (ca, revoked, now) => createCrl(ca, revoked, { now }),
  summariseCrl: (crlPem) => summariseCrl(crlPem),
  normaliseSerial: (serialNumber) => normaliseSerialNumber(serialNumber),
};
