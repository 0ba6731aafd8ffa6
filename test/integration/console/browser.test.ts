import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP_VERSION, type ServingRuntime } from '../../../src/domain/index.ts';
import { demoGroups, type DemoRole } from '../../../src/testenv/dex.ts';
import { oidcToken } from '../../../src/testenv/identities.ts';
import {
  PLATFORM_ADMINS_GROUP,
  actAsOperator,
  applyPlatformRbac,
  env,
  removeTenant,
  suffix,
  waitUntilVisible,
  type ApiUnderTest,
} from '../api/fixture.ts';
import { endpointBecomesReady } from './hooks.ts';
import {
  accessibilityViolations,
  eventually,
  revokeCertificateInConsole,
  demoUser,
  launchBrowser,
  logIn,
  newContext,
  screenshot,
  startConsoleUnderTest,
} from './fixture.ts';

/** The browser globals used by functions evaluated in the page (they run there, not in Node). */
declare const document: {
  querySelector(selector: string): { content: string } | null;
  body: unknown;
  documentElement: { scrollWidth: number };
  activeElement: { textContent: string | null; id: string } | null;
};
declare const window: { innerWidth: number };
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const run = suffix();
/** The tenant the scenario creates through the console; the demo groups administer and use it. */
const A = `con-a-${run}`;
/** A tenant none of the demo users but the platform admin has anything to do with. */
const B = `con-b-${run}`;
const RUNTIME = 'console-test-runtime';
const roles: DemoRole[] = ['platform-admin', 'tenant-admin', 'tenant-user', 'no-rights'];

let harness: ApiUnderTest & { url: string };
let browser: Browser;
const violations: Record<string, { id: string; impact: string; nodes: string[] }[]> = {};
const scratch = mkdtempSync(path.join(os.tmpdir(), 'console-test-'));

/** Polls until the page shows the expected state: reloads after an action take a moment on a busy machine. */

/** Records serious accessibility violations of the page under its name (checked at the end and per test). */
async function audit(page: Page, name: string): Promise<void> {
  violations[name] = await accessibilityViolations(page);
  expect(violations[name], `axe on ${name}`).toEqual([]);
}

beforeAll(async () => {
  harness = await startConsoleUnderTest();
  await applyPlatformRbac(harness.kube);
  await harness.kube.applyObject(runtime() as never, { fieldManager: 'console-tests' });
  browser = await launchBrowser();
  const admin = await oidcToken(env, {
    sub: 'root',
    email: 'root@example.test',
    groups: [PLATFORM_ADMINS_GROUP],
  });
  const created = await harness.call('post', '/v1/tenants', {
    token: admin,
    json: { name: B, admins: [{ kind: 'Group', name: `${B}-admins` }] },
  });
  expect(created.status, created.text).toBe(201);
  await actAsOperator(harness, B);
});

afterAll(async () => {
  await browser?.close();
  for (const tenant of [A, B]) await removeTenant(harness, tenant);
  await harness?.api.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the console in Chromium, logged in through Dex', () => {
  it('logs each demo user in through Dex and greets them by name', async () => {
    for (const role of roles) {
      const { context, problems } = await newContext(browser);
      const page = await logIn(context, harness.url, demoUser(role));
      await eventually(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Tenants');
      expect(problems, `console errors for ${role}`).toEqual([]);
      await context.close();
    }
  });

  it('lets the platform admin create a tenant and let a group call its endpoints without typing a URL', async () => {
    const { context, problems } = await newContext(browser);
    const page = await logIn(context, harness.url, demoUser('platform-admin'));
    await audit(page, 'tenants');
    const create = page.getByRole('form', { name: 'Create a tenant' });
    await create.getByLabel('Name', { exact: true }).fill('Not A DNS Label');
    await create.getByRole('button', { name: 'Create tenant' }).click();
    // The browser's own validation stops the bad name before it is sent; the API's answer is shown for the rest.
    await create.getByLabel('Name', { exact: true }).fill(A);
    await create.getByLabel('Memory').fill('lots');
    await create.getByRole('button', { name: 'Create tenant' }).click();
    await eventually(() => create.getByRole('alert').first().textContent()).toContain('Bad request');
    await eventually(() => create.getByLabel('Memory').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'tenants-create-problem');

    await create.getByLabel('Memory').fill('8Gi');
    await create.getByLabel('Display name').fill('Console test tenant');
    await create.getByLabel('Hostname').fill(`${A}.models.example.test`);
    await create.getByLabel('Admins').fill(`Group:${demoGroups.tenantAdmins}`);
    await create.getByLabel('Endpoints').fill('3');
    await create.getByLabel('CPU').fill('4');
    await create.getByLabel('Storage (bytes)').fill(String(5 * 1024 ** 3));
    await create.getByRole('button', { name: 'Create tenant' }).click();
    await page.waitForURL(`${harness.url}/console/tenants/${A}`);
    // No operator runs in this project: the test plays its part (RBAC, bucket, CA) as the others do.
    await actAsOperator(harness, A);
    await page.reload();
    await audit(page, 'tenant');
    await screenshot(page, 'tenant');

    await page
      .getByRole('navigation', { name: `Tenant ${A}` })
      .getByRole('link', { name: 'Access' })
      .click();
    await page.waitForURL(/\/access$/);
    const grant = page.getByRole('form', { name: 'Grant access' });
    await grant.getByLabel('Role').selectOption('users');
    await grant.getByLabel('Kind').selectOption('Group');
    await grant.getByLabel('Name', { exact: true }).fill(demoGroups.tenantUsers);
    await grant.getByRole('button', { name: 'Grant' }).click();
    await eventually(() =>
      page
        .locator('tr')
        .filter({ hasText: new RegExp(`Group ${demoGroups.tenantUsers}`) })
        .count(),
    ).toBe(1);
    // The form starts afresh after a grant.
    await grant.getByLabel('Role').selectOption('users');
    await grant.getByLabel('Kind').selectOption('Group');
    await grant.getByLabel('Name', { exact: true }).fill('system:authenticated');
    await grant.getByRole('button', { name: 'Grant' }).click();
    await eventually(() =>
      page
        .locator('tr')
        .filter({ hasText: /every signed-in user/ })
        .count(),
    ).toBe(1);
    await audit(page, 'access');
    await screenshot(page, 'access');
    page.once('dialog', (dialog) => void dialog.accept());
    await page
      .getByRole('form', { name: /Revoke .* from every signed-in user/ })
      .getByRole('button')
      .click();
    await eventually(() =>
      page
        .locator('tr')
        .filter({ hasText: /every signed-in user/ })
        .count(),
    ).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  });

  it('lets the tenant user upload a model with progress and resume, create an endpoint, issue and revoke a certificate', async () => {
    // The operator renders RBAC again when grants change; here the test plays it.
    await actAsOperator(harness, A);
    await waitUntilVisible(
      harness,
      A,
      await oidcToken(env, { sub: 'probe', email: 'p@example.test', groups: [demoGroups.tenantUsers] }),
    );
    const { context } = await newContext(browser);
    const page = await logIn(context, harness.url, demoUser('tenant-user'));
    await page.getByRole('link', { name: A }).click();
    await page
      .getByRole('navigation', { name: `Tenant ${A}` })
      .getByRole('link', { name: 'Models' })
      .click();
    await page.waitForURL(/\/models$/);
    await audit(page, 'models');

    const file = path.join(scratch, 'weights.bin');
    writeFileSync(file, randomBytes(12 * 1024 * 1024));
    const upload = page.getByRole('form', { name: 'Upload a model version' });
    await upload.getByLabel('Model').fill('sentiment');
    await upload.getByLabel('Version').fill('v1');
    await upload.getByLabel('File').setInputFiles(file);
    // The second part's request fails as a dropped connection would: the upload stops half way.
    await page.route('**/uploads/*/parts/2', (route) => route.abort('connectionreset'));
    await upload.getByRole('button', { name: 'Upload' }).click();
    await eventually(() => upload.getByRole('alert').textContent()).toContain('Network error');
    await page.unroute('**/uploads/*/parts/2');
    await page.reload();
    // After the reload the page knows the unfinished session from the server and shows how far it got.
    const resume = upload.getByRole('status');
    await eventually(() => resume.textContent()).toMatch(/stopped at 66%/);
    expect(
      await upload.locator('progress').evaluate((bar) => (bar as unknown as { value: number }).value),
    ).toBe(66);
    await screenshot(page, 'models-resume');
    await upload.getByLabel('File').setInputFiles(file);
    await upload.getByRole('button', { name: 'Upload' }).click();
    await page.waitForLoadState('load');
    await eventually(() => page.locator('tr').filter({ hasText: /v1/ }).count(), {
      timeout: 60_000,
      interval: 250,
    }).toBe(1);
    await eventually(() => page.getByRole('link', { name: 'weights.bin' }).count()).toBe(1);
    await screenshot(page, 'models');

    await page
      .getByRole('navigation', { name: `Tenant ${A}` })
      .getByRole('link', { name: 'Endpoints' })
      .click();
    await page.waitForURL(/\/endpoints$/);
    const create = page.getByRole('form', { name: 'Create an endpoint' });
    await create.getByLabel('Name').fill('sentiment');
    await create.getByLabel('Model version').selectOption('sentiment@v1');
    await create.getByLabel('Runtime').selectOption(RUNTIME);
    await create.getByRole('button', { name: 'Create endpoint' }).click();
    await eventually(() => page.getByRole('heading', { name: /sentiment/ }).count()).toBe(1);
    await endpointBecomesReady({ page, harness, tenant: A, endpoint: 'sentiment' });
    await page.getByText('How to call sentiment').click();
    expect(await page.locator('details.call pre').first().textContent()).toContain('tenantmesh infer');
    await audit(page, 'endpoints');
    await screenshot(page, 'endpoints');
    const scale = page.getByRole('form', { name: 'Scale sentiment' });
    await scale.getByLabel('Replicas').fill('2');
    await scale.getByRole('button', { name: 'Scale' }).click();
    await eventually(() => page.getByText('0 of 2 ready').count()).toBe(1);

    await page
      .getByRole('navigation', { name: `Tenant ${A}` })
      .getByRole('link', { name: 'Certificates' })
      .click();
    await page.waitForURL(/\/certificates$/);
    const issue = page.getByRole('form', { name: 'Issue a client certificate' });
    await issue.getByLabel('Common name').fill('scorer');
    const download = page.waitForEvent('download');
    await issue.getByRole('button', { name: 'Issue certificate' }).click();
    const bundle = readFileSync((await (await download).path())!, 'utf8');
    expect(bundle).toContain('BEGIN CERTIFICATE');
    expect(bundle).toContain('PRIVATE KEY');
    await eventually(() =>
      page
        .locator('tr')
        .filter({ hasText: /scorer/ })
        .count(),
    ).toBe(1);
    await audit(page, 'certificates');
    await screenshot(page, 'certificates');
    // Tenant users may issue but not revoke (docs/rbac.md): the button is absent, not failing.
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await context.close();

    await revokeCertificateInConsole(browser, harness.url, demoUser('tenant-admin'), A, 'scorer');
  });

  it('shows the user with no rights nothing of the tenant, in pages or through the proxy', async () => {
    const { context } = await newContext(browser);
    const page = await logIn(context, harness.url, demoUser('no-rights'));
    expect(await page.getByText('You have no tenants to see').count()).toBe(1);
    expect(await page.getByRole('link', { name: A }).count()).toBe(0);
    for (const part of ['', '/access', '/models', '/endpoints', '/certificates']) {
      const response = await page.goto(`${harness.url}/console/tenants/${A}${part}`);
      expect(response?.status(), part).toBe(404);
      expect(await page.content()).not.toContain('Console test tenant');
    }
    const answer = await page.evaluate(
      async (tenant) => (await fetch(`/console/api/v1/tenants/${tenant}`)).status,
      A,
    );
    expect(answer).toBe(404);
    await audit(page, 'not-found');
    await context.close();
  });

  it('holds each demo user to what the API allows them, page by page and call by call', async () => {
    const pages = ['', '/access', '/models', '/endpoints', '/certificates'] as const;
    /** Which controls each role sees on tenant A (theirs), per docs/rbac.md; on B only the platform admin sees any. */
    const controlsOnA: Record<DemoRole, Record<string, string[]>> = {
      'platform-admin': {
        '': ['Delete tenant'],
        '/access': ['Grant', 'Revoke'],
        '/models': ['Upload', 'Delete'],
        '/endpoints': ['Create endpoint', 'Scale', 'Delete endpoint'],
        '/certificates': ['Issue certificate'],
      },
      'tenant-admin': {
        '': [],
        '/access': ['Grant', 'Revoke'],
        '/models': ['Upload', 'Delete'],
        '/endpoints': ['Create endpoint', 'Scale', 'Delete endpoint'],
        '/certificates': ['Issue certificate'],
      },
      'tenant-user': {
        '': [],
        '/access': [],
        '/models': ['Upload', 'Delete'],
        '/endpoints': ['Create endpoint', 'Scale', 'Delete endpoint'],
        '/certificates': ['Issue certificate'],
      },
      'no-rights': {},
    };
    /** Tenant B has one admin grant and nothing else, so fewer controls have something to act on. */
    const controlsOnB: Record<string, string[]> = {
      '': ['Delete tenant'],
      '/access': ['Grant', 'Revoke'],
      '/models': ['Upload'],
      '/endpoints': [],
      '/certificates': ['Issue certificate'],
    };
    const allControls = [
      'Delete tenant',
      'Grant',
      'Revoke',
      'Upload',
      'Delete',
      'Create endpoint',
      'Scale',
      'Delete endpoint',
      'Issue certificate',
    ];
    for (const role of roles) {
      const { context } = await newContext(browser);
      const page = await logIn(context, harness.url, demoUser(role));
      for (const tenant of [A, B]) {
        for (const part of pages) {
          const response = await page.goto(`${harness.url}/console/tenants/${tenant}${part}`);
          const expected =
            tenant === A
              ? controlsOnA[role][part]
              : role === 'platform-admin'
                ? controlsOnB[part]
                : undefined;
          const where = `${role} on ${tenant === A ? 'A' : 'B'}${part}`;
          if (!expected) {
            expect(response?.status(), where).toBe(404);
            continue;
          }
          expect(response?.status(), where).toBe(200);
          const present = [];
          for (const name of allControls) {
            if ((await page.getByRole('button', { name, exact: true }).count()) > 0) present.push(name);
          }
          expect(present.sort(), where).toEqual([...expected].sort());
        }
      }
      // Every state-changing call on tenant B through the console's proxy, as the page script would make it.
      const calls: [string, string, unknown][] = [
        ['POST', `/v1/tenants/${B}/access`, { role: 'users', subject: { kind: 'Group', name: 'sneaky' } }],
        ['PATCH', `/v1/tenants/${B}`, { displayName: 'taken over' }],
        ['POST', `/v1/tenants/${B}/certificates`, { commonName: `intruder-${role}` }],
        [
          'POST',
          `/v1/tenants/${B}/endpoints`,
          { name: 'intruder', model: { name: 'm', version: '1' }, runtime: RUNTIME },
        ],
        ['POST', `/v1/tenants/${B}/models/m/versions/1/uploads`, { file: 'x.bin', size: 1 }],
        ['DELETE', `/v1/tenants/${B}/access/admins/Group/${B}-admins`, undefined],
        ['POST', '/v1/tenants', { name: `intruder-${run}` }],
      ];
      await page.goto(`${harness.url}/console/tenants`);
      const statuses = await page.evaluate(async (list) => {
        const csrf = document.querySelector('meta[name="csrf-token"]')!.content;
        const out: number[] = [];
        for (const [method, apiPath, body] of list) {
          const response = await fetch(`/console/api${apiPath}`, {
            method,
            headers: { 'x-csrf-token': csrf, 'content-type': 'application/json' },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          out.push(response.status);
        }
        return out;
      }, calls);
      if (role === 'platform-admin') {
        // Never refused for the admin (some answer 404/422 on their merits); what they create is undone below.
        expect(
          statuses.every((s) => s !== 401 && s !== 403 && s < 500),
          `${role}: ${statuses}`,
        ).toBe(true);
      } else {
        expect(statuses, role).toEqual([404, 404, 404, 404, 404, 404, 403]);
      }
      await context.close();
    }
    await removeTenant(harness, `intruder-${run}`);
  });

  it('returns a user whose session ended to login and then to the page they were on', async () => {
    const { context } = await newContext(browser);
    const page = await logIn(context, harness.url, demoUser('tenant-admin'), `/console/tenants/${A}/access`);
    await context.clearCookies({ name: 'tm_session' });
    await page.reload();
    await page.waitForURL(/\/dex\/auth/);
    await page.locator('#login').fill(demoUser('tenant-admin').email);
    await page.locator('#password').fill(demoUser('tenant-admin').password);
    await page.locator('#submit-login').click();
    await page.waitForURL(`${harness.url}/console/tenants/${A}/access`);
    await context.close();
  });

  it('works in a narrow dark window and from the keyboard', async () => {
    const { context } = await newContext(browser, { width: 390, dark: true });
    const page = await logIn(context, harness.url, demoUser('tenant-admin'), `/console/tenants/${A}`);
    expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe(
      'rgb(13, 17, 23)',
    );
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await audit(page, 'tenant-narrow-dark');
    await screenshot(page, 'tenant-narrow-dark');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await context.close();
  });
});

function runtime(): ServingRuntime {
  return {
    apiVersion: GROUP_VERSION,
    kind: 'ServingRuntime',
    metadata: { name: RUNTIME },
    spec: {
      protocols: ['kserve-v2-grpc'],
      ports: { grpc: 9000 },
      container: {
        image: 'example.test/runtime:1',
        resources: { requests: { cpu: '500m', memory: '256Mi' } },
      },
      modelPath: { mountPath: '/models', template: '{model}/{version}' },
    },
  };
}
