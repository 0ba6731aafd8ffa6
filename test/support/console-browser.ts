/**
 * The console's browser helpers, shared by the integration tests (process-only platform) and the e2e tests (the
 * chart on the local node): Debian's Chromium driven by playwright-core, Dex's login form, axe-core, screenshots.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import type { DemoUser } from '../../src/testenv/dex.ts';

/** Screenshots land here (ignored by git); the README's come from here too. */
export const screenshotDir = fileURLToPath(new URL('../../test-results/console/', import.meta.url));

/**
 * Debian's Chromium, headless. Playwright gives each launch a fresh profile directory. Only the identity
 * provider's serving certificate is trusted beyond the system's roots (by its public key), nothing else;
 * `hostRules` (Chromium's --host-resolver-rules, e.g. `MAP dex.ns.svc:5556 127.0.0.1:40123`) let the browser reach
 * an in-cluster name through a loopback forward without touching the host's resolver.
 */
export async function launchChromium(options: {
  executablePath: string;
  trustedCertPem: string;
  hostRules?: string[];
}): Promise<Browser> {
  const spki = createHash('sha256')
    .update(new X509Certificate(options.trustedCertPem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  return chromium.launch({
    executablePath: options.executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`,
      ...(options.hostRules?.length ? [`--host-resolver-rules=${options.hostRules.join(', ')}`] : []),
    ],
  });
}

/** A fresh browser context (own cookies) that records CSP violations and page errors. */
export async function newContext(browser: Browser, options: { width?: number; dark?: boolean } = {}) {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: 900 },
    colorScheme: options.dark ? 'dark' : 'light',
    acceptDownloads: true,
  });
  const problems: string[] = [];
  context.on('page', (page) => watch(page, problems));
  return { context, problems };
}

function watch(page: Page, problems: string[]): void {
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text()))
      problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
}

/** Logs in through Dex's own login form, from the console's first page, and lands back on `landing`. */
export async function logIn(
  context: BrowserContext,
  consoleUrl: string,
  user: DemoUser,
  landing = '/console/tenants',
) {
  const page = await context.newPage();
  await page.goto(`${consoleUrl}${landing}`);
  await page.waitForURL(/\/dex\/auth/);
  await page.getByLabel(/email/i).fill(user.email);
  await page.getByLabel(/password/i).fill(user.password);
  await page.getByRole('button', { name: /login/i }).click();
  await page.waitForURL(`${consoleUrl}${landing}`);
  await expect
    .poll(() => page.locator('.user').textContent(), { timeout: 30_000, interval: 200 })
    .toBe(user.name);
  return page;
}

/** The page's document, inside functions evaluated there. */
declare const document: unknown;

/** Runs axe-core on the page (evaluated through the debugging protocol, so the page's CSP stays strict). */
export async function accessibilityViolations(
  page: Page,
): Promise<{ id: string; impact: string; nodes: string[] }[]> {
  await page.evaluate(axe.source);
  const result = await page.evaluate(async () => {
    const run = (globalThis as unknown as { axe: typeof axe }).axe.run;
    const answer = await run(document as never, { resultTypes: ['violations'] });
    return answer.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? 'unknown',
      nodes: v.nodes.map((n) => n.html),
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Saves a screenshot under test-results/console. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
}

/** Polls `probe` until the assertion chained on it passes (the console tests' patience: 30 s). */
export const eventually = <T>(probe: () => T | Promise<T>, options = { timeout: 30_000, interval: 250 }) =>
  expect.poll(probe, options);

/**
 * Logs `admin` (a tenant admin: tenant users may issue but not revoke) in, revokes the certificate `commonName`
 * on the tenant's certificates page after confirming the dialog, and waits until its row says so.
 */
export async function revokeCertificateInConsole(
  browser: Browser,
  consoleUrl: string,
  admin: DemoUser,
  tenant: string,
  commonName: string,
): Promise<void> {
  const { context } = await newContext(browser);
  const page = await logIn(context, consoleUrl, admin, `/console/tenants/${tenant}/certificates`);
  page.once('dialog', (dialog) => void dialog.accept());
  await page
    .getByRole('form', { name: `Revoke certificate ${commonName}` })
    .getByRole('button')
    .click();
  await eventually(() =>
    page
      .locator('tr')
      .filter({ hasText: new RegExp(commonName) })
      .textContent(),
  ).toContain('revoked');
  await context.close();
}
