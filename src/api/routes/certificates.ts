import { z } from 'zod';
import {
  ConflictError,
  InvalidError,
  NotFoundError,
  QuotaExceededError,
  UnavailableError,
} from '../../domain/index.ts';
import type { ClientCertificateRecord } from '../../domain/index.ts';
import {
  InvalidCaError,
  InvalidCertificateRequestError,
  InvalidCsrError,
  fingerprintOf,
  issueClientCertificate,
  normaliseSerialNumber,
  signCsr,
} from '../../pki/index.ts';
import type { IssuedCertificate } from '../../pki/index.ts';
import type { CertificateRegistry, TenantCaSource } from '../ports.ts';
import { presentCertificate } from '../presenters.ts';
import { defineRoute, identityOf } from '../route.ts';
import type { ApiContext, ApiRoute } from '../route.ts';
import { tenantName } from '../schemas.ts';
import type { RouteDeps } from './context.ts';

/** What the certificate routes need besides the common route dependencies. */
export interface CertificateRoutesDeps {
  registry: CertificateRegistry;
  ca: TenantCaSource;
  /** Longest lifetime a caller may ask for, in days (default 90). */
  maxValidityDays?: number;
  /** Certificates of a tenant valid at once (default 500). */
  maxPerTenant?: number;
  /** Certificates one caller may have issued that are valid at once (default 20). */
  maxPerIssuer?: number;
  now?: () => Date;
}

/** Short by default: a certificate is a bearer credential for every endpoint its RBAC user may call. */
const DEFAULT_VALIDITY_DAYS = 30;

/** Wire shape of an issued certificate (mirrors presenters.CertificateDto). */
export const certificateDto = z.object({
  serialNumber: z.string(),
  commonName: z.string(),
  notBefore: z.string(),
  notAfter: z.string(),
  fingerprintSha256: z.string(),
  issuedBy: z.string(),
  revoked: z.boolean(),
  revokedAt: z.string().optional(),
});

const issuedDto = certificateDto.extend({
  certificatePem: z.string(),
  caCertificatePem: z.string(),
  /** Only when the server generated the key; shown once, never stored. */
  privateKeyPem: z.string().optional(),
});

/** POST /tenants/:tenant/certificates body. */
export const issueCertificateBody = z.strictObject({
  /** Becomes the subject CN and the RBAC user `tenantmesh:client:<tenant>:<commonName>`. */
  commonName: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'must be 1-64 letters, digits, ".", "_", "@" or "-"'),
  validityDays: z.number().int().min(1).optional(),
  /** A PKCS#10 CSR (PEM); only its public key is used. Without it the server generates a key. */
  csr: z
    .string()
    .max(16 * 1024)
    .optional(),
});

const tenantParams = z.object({ tenant: tenantName });
const serialParams = z.object({
  tenant: tenantName,
  serial: z.string().regex(/^[0-9A-Fa-f:]{1,64}$/, 'must be a hexadecimal serial number'),
});

/**
 * Client certificates of a tenant's CA (docs/rbac.md: verbs on `tenants/certificates`). The subject and
 * usages are the server's (CN as asked, O = tenant, clientAuth only), whatever a CSR asks for; issued
 * certificates are recorded in the tenant's registry ConfigMap, where revocations are marked for the
 * operator to publish in the CRL.
 */
export function certificateRoutes(deps: RouteDeps & { certificates: CertificateRoutesDeps }): ApiRoute[] {
  const { guard, prefix, tenants } = deps;
  const { registry, ca } = deps.certificates;
  const now = deps.certificates.now ?? (() => new Date());
  const maxValidityDays = deps.certificates.maxValidityDays ?? 90;
  const maxPerTenant = deps.certificates.maxPerTenant ?? 500;
  const maxPerIssuer = deps.certificates.maxPerIssuer ?? 20;
  const base = `${prefix}/tenants/:tenant/certificates`;
  const check = (
    ctx: ApiContext,
    tenant: string,
    verb: 'get' | 'list' | 'create' | 'delete',
    target: string,
  ) =>
    guard.tenant(ctx, tenant, {
      action: `certificates.${verb}`,
      target,
      verb,
      subresource: 'certificates',
    });
  const find = async (tenant: string, serial: string): Promise<ClientCertificateRecord> => {
    const record = (await registry.list(tenant)).find(
      (r) => normaliseSerialNumber(r.serialNumber) === serial,
    );
    if (!record) throw new NotFoundError('certificate', serial);
    return record;
  };
  /**
   * Records are separate objects, so two issuers of one CN can both pass the first check. Whoever then sees
   * another valid certificate of its CN revokes its own and answers 409: at most one stays valid (both may
   * lose, and retry).
   */
  const settleCommonNameRace = async (tenant: string, mine: ClientCertificateRecord, at: Date) => {
    const rival = (await registry.list(tenant)).find(
      (r) => r.commonName === mine.commonName && r.serialNumber !== mine.serialNumber && isLive(r, at),
    );
    if (!rival) return;
    await registry.revoke(tenant, mine.serialNumber, at.toISOString());
    throw new ConflictError(
      `certificate ${rival.serialNumber} with common name "${mine.commonName}" is still valid; revoke it first`,
    );
  };
  /** Refuses one more live certificate past the tenant's or the issuer's cap. */
  const assertWithinCaps = (records: ClientCertificateRecord[], issuer: string, at: Date) => {
    const live = records.filter((r) => isLive(r, at));
    if (live.length >= maxPerTenant) {
      throw new QuotaExceededError(
        'certificates',
        String(maxPerTenant),
        String(live.length + 1),
        `the tenant has ${live.length} valid certificates (at most ${maxPerTenant}); revoke some first`,
      );
    }
    const own = live.filter((r) => r.issuedBy === issuer).length;
    if (own >= maxPerIssuer) {
      throw new QuotaExceededError(
        'certificates',
        String(maxPerIssuer),
        String(own + 1),
        `you have issued ${own} valid certificates of this tenant (at most ${maxPerIssuer}); revoke some first`,
      );
    }
  };

  return [
    defineRoute({
      operationId: 'listCertificates',
      method: 'get',
      path: base,
      resource: 'certificates',
      summary: 'List the client certificates issued from the tenant’s CA, revoked ones included',
      authorization: 'list tenants/<tenant>/certificates',
      params: tenantParams,
      responses: {
        200: { description: 'Certificates', schema: z.object({ items: z.array(certificateDto) }) },
      },
      async handle(ctx, { params }) {
        await check(ctx, params.tenant, 'list', `tenants/${params.tenant}/certificates`);
        const items = (await registry.list(params.tenant)).map(presentCertificate);
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      operationId: 'issueCertificate',
      method: 'post',
      path: base,
      resource: 'certificates',
      summary: 'Issue a client certificate from a CSR, or with a generated key returned once',
      authorization: 'create tenants/<tenant>/certificates',
      params: tenantParams,
      body: issueCertificateBody,
      responses: {
        201: { description: 'Issued', schema: issuedDto },
        409: {
          description:
            'A certificate with this common name is still valid, or the tenant’s or caller’s certificate cap is reached',
        },
        422: { description: 'Unreadable CSR, refused key, or validity out of range' },
      },
      async handle(ctx, { params, body }) {
        const target = `tenants/${params.tenant}/certificates/${body.commonName}`;
        await check(ctx, params.tenant, 'create', target);
        const validityDays = body.validityDays ?? Math.min(DEFAULT_VALIDITY_DAYS, maxValidityDays);
        if (validityDays > maxValidityDays) {
          throw new InvalidError([{ pointer: '/validityDays', message: `at most ${maxValidityDays}` }]);
        }
        const tenant = await tenants.get(params.tenant);
        const at = now();
        const issuer = identityOf(ctx).username;
        await registry.removeExpired(params.tenant, at);
        const existing = await registry.list(params.tenant);
        assertCommonNameFree(existing, body.commonName, at);
        assertWithinCaps(existing, issuer, at);
        const caPems = await ca.get(tenant);
        const policy = { commonName: body.commonName, tenant: params.tenant, validityDays, now: at };
        const issued = await issue(caPems, body.csr, policy);
        const record: ClientCertificateRecord = {
          serialNumber: issued.serialNumber,
          commonName: body.commonName,
          notBefore: issued.notBefore.toISOString(),
          notAfter: issued.notAfter.toISOString(),
          fingerprintSha256: issued.fingerprintSha256,
          issuedBy: issuer,
        };
        // Recorded before it is handed out: a certificate nobody can find could never be revoked.
        await registry.add(params.tenant, record);
        await settleCommonNameRace(params.tenant, record, at);
        guard.changed(
          ctx,
          params.tenant,
          'certificates.issue',
          `tenants/${params.tenant}/certificates/${record.serialNumber}`,
        );
        return {
          status: 201,
          body: {
            ...presentCertificate(record),
            certificatePem: issued.certPem,
            caCertificatePem: caPems.certPem,
            ...('keyPem' in issued ? { privateKeyPem: issued.keyPem } : {}),
          },
          headers: {
            Location: `${prefix}/tenants/${params.tenant}/certificates/${record.serialNumber}`,
            'Cache-Control': 'no-store',
          },
        };
      },
    }),
    defineRoute({
      operationId: 'getCertificate',
      method: 'get',
      path: `${base}/:serial`,
      resource: 'certificates',
      summary: 'Read one issued certificate’s record',
      authorization: 'get tenants/<tenant>/certificates',
      params: serialParams,
      responses: { 200: { description: 'The certificate', schema: certificateDto } },
      async handle(ctx, { params }) {
        const serial = normaliseSerialNumber(params.serial);
        await check(ctx, params.tenant, 'get', `tenants/${params.tenant}/certificates/${serial}`);
        return { status: 200, body: presentCertificate(await find(params.tenant, serial)) };
      },
    }),
    defineRoute({
      operationId: 'revokeCertificate',
      method: 'delete',
      path: `${base}/:serial`,
      resource: 'certificates',
      summary: 'Revoke a certificate; the operator publishes it in the tenant’s CRL',
      authorization: 'delete tenants/<tenant>/certificates',
      params: serialParams,
      responses: { 200: { description: 'Revoked (also when it already was)', schema: certificateDto } },
      async handle(ctx, { params }) {
        const serial = normaliseSerialNumber(params.serial);
        const target = `tenants/${params.tenant}/certificates/${serial}`;
        await check(ctx, params.tenant, 'delete', target);
        const record = await registry.revoke(params.tenant, serial, now().toISOString());
        guard.changed(ctx, params.tenant, 'certificates.revoke', target);
        return { status: 200, body: presentCertificate(record) };
      },
    }),
    defineRoute({
      operationId: 'revokeCertificatesOfIssuer',
      method: 'post',
      path: `${base}/revocations`,
      resource: 'certificates',
      summary:
        'Revoke every valid certificate one user issued, e.g. when their access to the tenant goes (an admin action)',
      authorization: 'delete tenants/<tenant>/certificates',
      params: tenantParams,
      body: z.strictObject({ issuedBy: z.string().min(1).max(256) }),
      responses: {
        200: {
          description: 'The certificates revoked now',
          schema: z.object({ items: z.array(certificateDto) }),
        },
      },
      async handle(ctx, { params, body }) {
        const target = `tenants/${params.tenant}/certificates?issuedBy=${body.issuedBy}`;
        await check(ctx, params.tenant, 'delete', target);
        const at = now();
        const revokedAt = at.toISOString();
        const revoked: ClientCertificateRecord[] = [];
        for (const record of await registry.list(params.tenant)) {
          if (record.issuedBy !== body.issuedBy || !isLive(record, at)) continue;
          revoked.push(await registry.revoke(params.tenant, record.serialNumber, revokedAt));
        }
        guard.changed(ctx, params.tenant, 'certificates.revoke-issuer', target);
        return { status: 200, body: { items: revoked.map(presentCertificate) } };
      },
    }),
    defineRoute({
      operationId: 'getTenantCaCertificate',
      method: 'get',
      path: `${prefix}/tenants/:tenant/ca`,
      resource: 'certificates',
      summary: 'The tenant’s CA certificate, which clients and servers trust for the tenant',
      authorization: 'get tenants/<tenant>/certificates',
      params: tenantParams,
      responses: {
        200: {
          description: 'The CA certificate',
          schema: z.object({ certificatePem: z.string(), fingerprintSha256: z.string() }),
        },
      },
      async handle(ctx, { params }) {
        await check(ctx, params.tenant, 'get', `tenants/${params.tenant}/ca`);
        const { certPem } = await ca.get(await tenants.get(params.tenant));
        return { status: 200, body: { certificatePem: certPem, fingerprintSha256: fingerprintOf(certPem) } };
      },
    }),
  ];
}

/** Not revoked and not expired at `at`. */
function isLive(record: ClientCertificateRecord, at: Date): boolean {
  return !record.revokedAt && new Date(record.notAfter).getTime() > at.getTime();
}

/** CNs name RBAC users, so two live certificates with one CN would be indistinguishable callers. */
function assertCommonNameFree(records: ClientCertificateRecord[], commonName: string, at: Date): void {
  const live = records.find(
    (r) => r.commonName === commonName && !r.revokedAt && new Date(r.notAfter).getTime() > at.getTime(),
  );
  if (live) {
    throw new ConflictError(
      `certificate ${live.serialNumber} with common name "${commonName}" is still valid; revoke it first`,
    );
  }
}

/** Signs the CSR, or generates a key; PKI refusals become 422s naming the field. */
async function issue(
  ca: { certPem: string; keyPem: string },
  csr: string | undefined,
  policy: { commonName: string; tenant: string; validityDays: number; now: Date },
): Promise<IssuedCertificate | (IssuedCertificate & { keyPem: string })> {
  try {
    return csr === undefined ? await issueClientCertificate(ca, policy) : await signCsr(ca, csr, policy);
  } catch (error) {
    if (error instanceof InvalidCsrError)
      throw new InvalidError([{ pointer: '/csr', message: error.message }]);
    if (error instanceof InvalidCertificateRequestError) {
      throw new InvalidError([{ pointer: `/${error.field}`, message: error.message }]);
    }
    if (error instanceof InvalidCaError) {
      throw new UnavailableError(`the tenant's CA cannot sign: ${error.message}`);
    }
    throw error;
  }
}
