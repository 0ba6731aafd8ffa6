import { describe, expect, it } from 'vitest';
import type { AccessDto, CertificateDto, EndpointDto, TenantDto } from '../../../src/api/presenters.ts';
import { html } from '../../../src/console/html.ts';
import { accessPage } from '../../../src/console/pages/access.ts';
import { certificatesPage } from '../../../src/console/pages/certificates.ts';
import { subjectLabel } from '../../../src/console/pages/components.ts';
import { endpointsPage } from '../../../src/console/pages/endpoints.ts';
import { page, type PageFrame } from '../../../src/console/pages/layout.ts';
import { modelsPage } from '../../../src/console/pages/models.ts';
import { quotaUsage, tenantPage } from '../../../src/console/pages/tenant.ts';
import { tenantsPage } from '../../../src/console/pages/tenants.ts';

const frame: PageFrame = {
  title: 'Access',
  user: { email: 'ann@example.test', name: 'Ann', groups: ['acme-admins'] },
  csrfToken: 'csrf-123',
  assets: { script: '/console/assets/console-1.js', style: '/console/assets/console-2.css' },
  tenant: { name: 'acme', tabs: ['access', 'models', 'endpoints', 'certificates'], current: 'access' },
  breadcrumbs: [
    { text: 'Tenants', href: '/console/tenants' },
    { text: 'acme', href: '/console/tenants/acme' },
    { text: 'Access' },
  ],
};

const condition = {
  type: 'Ready',
  status: 'True' as const,
  reason: 'Reconciled',
  message: 'all good',
  lastTransitionTime: '2026-01-01T00:00:00Z',
};

const tenant: TenantDto = {
  name: 'acme',
  displayName: 'ACME <Corp>',
  quota: { maxEndpoints: 4, cpu: '8', memory: '16Gi', storageBytes: 10737418240 },
  ca: { mode: 'generated', fingerprint: 'AB:CD' },
  clientAuthentication: 'certificate',
  createdAt: '2026-01-01T00:00:00Z',
  deleting: false,
  status: { ready: 'True', conditions: [condition], hosts: ['acme.models.example'] },
};

const endpoint: EndpointDto = {
  name: 'sentiment',
  tenant: 'acme',
  model: { name: 'bert', version: 'v2' },
  runtime: 'mlserver',
  replicas: 2,
  resources: { requests: { cpu: '500m', memory: '1Gi' } },
  deleting: false,
  status: {
    ready: 'False',
    conditions: [{ ...condition, status: 'False', reason: 'Pending' }],
    readyReplicas: 0,
  },
};

describe('console pages', () => {
  it('frames a tenant page with tabs, breadcrumbs, the user and a logout form carrying the CSRF token', async () => {
    await expect(page(frame, html`<p>content</p>`).toString()).toMatchFileSnapshot('__golden__/layout.html');
  });

  it('lists tenants and offers creation to those who may create', async () => {
    await expect(tenantsPage({ tenants: [tenant], mayCreate: true }).toString()).toMatchFileSnapshot(
      '__golden__/tenants.html',
    );
    expect(tenantsPage({ tenants: [], mayCreate: false }).toString()).not.toContain('Create a tenant');
  });

  it('escapes what tenants and users wrote', () => {
    const out = tenantsPage({ tenants: [tenant], mayCreate: false }).toString();
    expect(out).toContain('ACME &lt;Corp&gt;');
    expect(out).not.toContain('ACME <Corp>');
  });

  it('draws the quota as bars of what the endpoints request and the models store, against the limits', async () => {
    const uses = quotaUsage(tenant, [endpoint], 3 * 1024 ** 3);
    expect(uses.map((u) => [u.label, u.used, u.limit])).toEqual([
      ['Endpoints', 1, 4],
      ['CPU', 1, 8],
      ['Memory', 2 * 1024 ** 3, 16 * 1024 ** 3],
      ['Storage', 3 * 1024 ** 3, 10737418240],
    ]);
    // A user who may not list the models sees the limit only.
    expect(quotaUsage(tenant, [endpoint]).at(-1)?.used).toBeUndefined();
    await expect(
      tenantPage({
        tenant,
        endpoints: [endpoint],
        storageUsedBytes: 3 * 1024 ** 3,
        mayDelete: true,
      }).toString(),
    ).toMatchFileSnapshot('__golden__/tenant.html');
  });

  it('shows grants with revoke buttons and a grant form only for the roles the user may change', async () => {
    const access: AccessDto = {
      tenant: 'acme',
      admins: [{ kind: 'Group', name: 'acme-admins' }],
      users: [
        { kind: 'Group', name: 'system:authenticated' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'build' },
      ],
      endpointUsers: [{ endpoint: 'sentiment', subjects: [{ kind: 'User', name: 'eve@example.test' }] }],
    };
    const admin = accessPage({
      access,
      endpoints: ['sentiment'],
      rights: { grant: true, revoke: true, manageAdmins: false },
    });
    await expect(admin.toString()).toMatchFileSnapshot('__golden__/access.html');
    expect(admin.toString()).not.toContain('value="admins"');
    const reader = accessPage({
      access,
      endpoints: [],
      rights: { grant: false, revoke: false, manageAdmins: false },
    });
    expect(reader.toString()).not.toContain('<form');
  });

  it('says what a system:authenticated grant means', () => {
    expect(subjectLabel({ kind: 'Group', name: 'system:authenticated' })).toBe('every signed-in user');
  });

  it('lists model versions with downloads, their registry state and description, and the resumable upload form', async () => {
    const out = modelsPage({
      tenant: 'acme',
      models: [
        {
          model: {
            name: 'bert',
            versions: 2,
            lastPublishedAt: '2026-01-02T00:00:00Z',
            registry: { id: '7', state: 'LIVE', description: 'Answers <questions> & more' },
          },
          versions: [
            {
              version: 'v2',
              publishedAt: '2026-01-02T00:00:00Z',
              files: [{ name: 'model.onnx', size: 2048, sha256: 'ab' }],
              registry: { id: '9', state: 'LIVE' },
            },
            {
              version: 'v1',
              publishedAt: '2026-01-01T00:00:00Z',
              files: [{ name: 'model.onnx', size: 1024, sha256: 'cd' }],
              registry: { id: '8', state: 'ARCHIVED' },
            },
          ],
        },
        {
          // Published before the registry existed: no record, no badge.
          model: { name: 'legacy', versions: 1, lastPublishedAt: '2025-12-01T00:00:00Z' },
          versions: [
            {
              version: '1',
              publishedAt: '2025-12-01T00:00:00Z',
              files: [{ name: 'm.bin', size: 10, sha256: 'ef' }],
            },
          ],
        },
      ],
      mayUpload: true,
      mayDelete: true,
      mayDownload: true,
    });
    expect(out.toString()).toContain('Answers &lt;questions&gt; &amp; more');
    await expect(out.toString()).toMatchFileSnapshot('__golden__/models.html');
  });

  it('shows endpoints with status, scale, version switch and how to call them', async () => {
    const out = endpointsPage({
      tenant: 'acme',
      endpoints: [endpoint],
      models: [{ name: 'bert', versions: ['v2', 'v1'] }],
      runtimes: [{ name: 'mlserver', protocols: ['kserve-v2-grpc'], modelFormats: [] }],
      mayCreate: true,
      mayUpdate: true,
      mayDelete: true,
      tenantHost: 'acme.models.example',
    });
    await expect(out.toString()).toMatchFileSnapshot('__golden__/endpoints.html');
  });

  it('lists certificates with expiry and state, revoke only for live ones', async () => {
    const certificate: CertificateDto = {
      serialNumber: '0A1B',
      commonName: 'scorer',
      notBefore: '2026-01-01T00:00:00Z',
      notAfter: '2026-04-01T00:00:00Z',
      fingerprintSha256: 'FF',
      issuedBy: 'ann',
      revoked: false,
    };
    const out = certificatesPage({
      tenant: 'acme',
      certificates: [
        certificate,
        { ...certificate, serialNumber: '0C', revoked: true, revokedAt: '2026-02-01T00:00:00Z' },
      ],
      mayIssue: true,
      mayRevoke: true,
      now: new Date('2026-03-01T00:00:00Z'),
    });
    await expect(out.toString()).toMatchFileSnapshot('__golden__/certificates.html');
    expect(out.toString().match(/>Revoke</g)).toHaveLength(1);
  });
});
