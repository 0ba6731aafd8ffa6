import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dexHost, identityProvider } from '../../src/localcluster/identity-provider.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import { demoGroups, type DemoRole } from '../../src/testenv/dex.ts';
import { assetPath, provisionAssets } from '../../src/testenv/provision.ts';
import {
  accessibilityViolations,
  eventually,
  revokeCertificateInConsole,
  launchChromium,
  logIn,
  newContext,
  screenshot,
} from '../support/console-browser.ts';
import { trainSklearnModel, type TrainedModel } from '../support/sklearn-model.ts';
import { removeServingUser, servingUser, type ServingUser } from './serving-support.ts';
import {
  currentNode,
  installedConsole,
  kubectl,
  type InstalledConsole,
  type NodeSummary,
} from './support.ts';

/**
 * The web console of the chart on the node, in Chromium: people log in through Dex (a Pod beside the chart, at its
 * in-cluster name, which the browser maps to a 127.0.0.1 forward), and what the tenant user makes in the console
 * really runs: the uploaded scikit-learn model is served by MLServer until the page shows the endpoint Ready.
 */
const tenant = 'e2e-console';
const adminName = 'console-admin';
let node: NodeSummary;
let admin: ServingUser;
let installed: InstalledConsole;
let browser: Browser;
let model: TrainedModel;

const user = (role: DemoRole) => {
  const found = installed.identityProvider.users.find((u) => u.role === role);
  if (!found) throw new Error(`no demo user for ${role}`);
  return found;
};
const tenantNav = (page: Page, link: string) =>
  page
    .getByRole('navigation', { name: `Tenant ${tenant}` })
    .getByRole('link', { name: link })
    .click();

beforeAll(async () => {
  node = await currentNode();
  // A platform admin with the CLI (installs the chart if needed); then the chart again with the console on.
  admin = await servingUser(node, adminName);
  installed = await installedConsole(node);
  model = await trainSklearnModel(path.join(admin.work, 'iris.joblib'));
  await admin.cli('tenants', 'create', tenant, '--admin', `group:${demoGroups.tenantAdmins}`);
  await admin.cli('access', 'grant', tenant, `group:${demoGroups.tenantUsers}`, '--role', 'users');
  await kubectl(node, ['wait', '--for=condition=Ready', `tenant/${tenant}`, '--timeout=120s']);
  browser = await launchChromium({
    executablePath: assetPath(await provisionAssets(['chromium']), 'chromium'),
    trustedCertPem: installed.identityProvider.certPem,
    hostRules: [
      `MAP ${dexHost(tenantmeshRelease.namespace)}:${identityProvider.port} 127.0.0.1:${installed.dexPort}`,
    ],
  });
}, 900_000);

afterAll(async () => {
  await browser?.close();
  if (!admin) return;
  await admin.run('tenants', 'delete', tenant, '--purge', '--yes');
  await removeServingUser(admin, adminName);
}, 180_000);

describe('the console of the chart on the node, in Chromium', () => {
  it('lets the tenant user upload a model, create an endpoint that becomes Ready, and issue a certificate the tenant admin revokes', async () => {
    const { context, problems } = await newContext(browser);
    const page = await logIn(context, installed.apiUrl, user('tenant-user'));
    await page.getByRole('link', { name: tenant }).click();
    await tenantNav(page, 'Models');
    await page.waitForURL(/\/models$/);
    const upload = page.getByRole('form', { name: 'Upload a model version' });
    await upload.getByLabel('Model').fill('iris');
    await upload.getByLabel('Version').fill('1');
    await upload.getByLabel('File').setInputFiles(model.path);
    await upload.getByRole('button', { name: 'Upload' }).click();
    await eventually(() => page.getByRole('link', { name: 'iris.joblib' }).count(), {
      timeout: 60_000,
      interval: 250,
    }).toBe(1);

    await tenantNav(page, 'Endpoints');
    await page.waitForURL(/\/endpoints$/);
    const create = page.getByRole('form', { name: 'Create an endpoint' });
    await create.getByLabel('Name').fill('iris');
    await create.getByLabel('Model version').selectOption('iris@1');
    await create.getByLabel('Runtime').selectOption('mlserver');
    await create.getByRole('button', { name: 'Create endpoint' }).click();
    await eventually(() => page.getByRole('heading', { name: /iris/ }).count()).toBe(1);
    // A real Pod starts (model puller, MLServer, sidecar): the page shows what the status then reports.
    const section = page.getByRole('region', { name: /^iris/ });
    await eventually(
      async () => {
        await page.reload();
        const badge = await section.getByRole('heading').locator('.badge').textContent();
        return `${badge} ${await section.getByText('1 of 1 ready').count()}`;
      },
      { timeout: 300_000, interval: 2_000 },
    ).toBe('Ready 1');
    const violations = await accessibilityViolations(page);
    expect(violations, 'axe on the endpoints page').toEqual([]);
    await screenshot(page, 'node-endpoints');

    await tenantNav(page, 'Certificates');
    await page.waitForURL(/\/certificates$/);
    const issue = page.getByRole('form', { name: 'Issue a client certificate' });
    await issue.getByLabel('Common name').fill('scorer');
    const download = page.waitForEvent('download');
    await issue.getByRole('button', { name: 'Issue certificate' }).click();
    expect(await (await download).path()).toBeTruthy();
    await eventually(() =>
      page
        .locator('tr')
        .filter({ hasText: /scorer/ })
        .count(),
    ).toBe(1);
    await screenshot(page, 'node-certificates');
    expect(problems, 'console errors').toEqual([]);
    await context.close();

    await revokeCertificateInConsole(browser, installed.apiUrl, user('tenant-admin'), tenant, 'scorer');
  }, 600_000);

  it('shows the user with no rights nothing of the tenant', async () => {
    const { context } = await newContext(browser);
    const page = await logIn(context, installed.apiUrl, user('no-rights'));
    expect(await page.getByText('You have no tenants to see').count()).toBe(1);
    for (const part of ['', '/models', '/endpoints', '/certificates']) {
      const response = await page.goto(`${installed.apiUrl}/console/tenants/${tenant}${part}`);
      expect(response?.status(), part).toBe(404);
      expect(await page.content()).not.toContain('iris');
    }
    await context.close();
  }, 120_000);
});
