import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { cliClientId, consoleClientId, type DemoRole, type DemoUser } from '../../../src/testenv/dex.ts';
import { localOidcIssuer } from '../../../src/testenv/oidc-issuer.ts';
import { launchChromium } from '../../support/console-browser.ts';
import { env, platform, startApiUnderTest, type ApiUnderTest } from '../api/fixture.ts';

export {
  accessibilityViolations,
  eventually,
  logIn,
  newContext,
  revokeCertificateInConsole,
  screenshot,
  screenshotDir,
} from '../../support/console-browser.ts';

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

/** Chromium trusting the run's Dex (its serving certificate only). */
export async function launchBrowser(): Promise<Browser> {
  return launchChromium({
    executablePath: env.assets['chromium'] ?? '/usr/bin/chromium',
    trustedCertPem: readFileSync(path.join(env.runDir, 'pki', 'dex.crt'), 'utf8'),
  });
}
