import { X509Certificate, createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { cliClientId, consoleClientId, type DemoRole, type DemoUser } from '../../../src/testenv/dex.ts';
import { localOidcIssuer } from '../../../src/testenv/oidc-issuer.ts';
import { env, platform, startApiUnderTest, type ApiUnderTest } from '../api/fixture.ts';

/** Screenshots land here (ignored by git); the README's come from here too. */
export const screenshotDir = fileURLToPath(new URL('../../../test-results/console/', import.meta.url));

/**
 * The API with its console, started as `npm start` wires it: trusting Dex (and the test issuer) and serving the
 * console on the port Dex's console client redirects to.
 */
export async function startConsoleUnderTest(): Promise<ApiUnderTest & { url: string }> {
  const harness = await startApiUnderTest({
    platform: {
      ...platform,
      oidcIssuers: [
        ...platform.oidcIssuers,
        localOidcIssuer(env.oidc, {
          issuerUrl: env.dex.issuerUrl,
          audiences: [consoleClientId, cliClientId],
          certificateAuthority: env.caPem,
        }),
      ],
    },
    port: env.consolePort,
    console: {
      issuer: env.dex.issuerUrl,
      clientId: env.dex.console.clientId,
      clientSecret: env.dex.console.clientSecret,
      caPem: env.caPem,
      publicUrl: `http://127.0.0.1:${env.consolePort}`,
    },
  });
  return { ...harness, url: harness.api.url };
}

/** The demo user of a role. */
export function demoUser(role: DemoRole): DemoUser {
  const user = env.dex.users.find((u) => u.role === role);
  if (!user) throw new Error(`no demo user for ${role}`);
  return user;
}

/**
 * Debian's Chromium, headless, driven by playwright-core. Playwright gives each launch a fresh profile directory.
 * Only Dex's serving certificate is trusted beyond the system's roots (by its public key), nothing else.
 */
export async function launchBrowser(): Promise<Browser> {
  const dexCert = new X509Certificate(readFileSync(path.join(env.runDir, 'pki', 'dex.crt')));
  const spki = createHash('sha256')
    .update(dexCert.publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64');
  return chromium.launch({
    executablePath: env.assets['chromium'] ?? '/usr/bin/chromium',
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
