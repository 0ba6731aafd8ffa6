import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../src/testenv/wait.ts';
import { applyPlatformRbac, env } from '../api/fixture.ts';
import { runCli } from '../cli/run-cli.ts';
import { demoUser, launchBrowser, newContext, startConsoleUnderTest } from './fixture.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A CLI run whose stderr can be watched while it runs (the login prints a URL and waits). */
function startCli(args: string[], environment: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', ...environment },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout.resume();
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return { stderr: () => stderr, exited, kill: () => child.kill() };
}

/** Logs in on Dex's page after the device or browser flow brought the browser there. */
async function signInOnDex(page: Page, role: 'tenant-admin' | 'platform-admin'): Promise<void> {
  await page.waitForURL(/\/dex\/auth\/local\/login|\/dex\/auth\?/);
  await page.locator('#login').fill(demoUser(role).email);
  await page.locator('#password').fill(demoUser(role).password);
  await page.locator('#submit-login').click();
}

describe('tenantmesh login through Dex', () => {
  let harness: Awaited<ReturnType<typeof startConsoleUnderTest>>;
  let browser: Browser;
  const configDir = mkdtempSync(path.join(os.tmpdir(), 'cli-login-'));
  const caFile = path.join(configDir, 'ca.pem');
  const cliEnv = { TENANTMESH_CONFIG_DIR: configDir };

  beforeAll(async () => {
    harness = await startConsoleUnderTest();
    await applyPlatformRbac(harness.kube);
    browser = await launchBrowser();
    writeFileSync(caFile, env.caPem);
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.api.close();
    rmSync(configDir, { recursive: true, force: true });
  });

  it('logs in with the device flow confirmed in a browser, keeps the refresh token in a 0600 file, and uses it', async () => {
    const cli = startCli(
      ['--server', harness.url, 'login', '--issuer', env.dex.issuerUrl, '--ca-file', caFile, '--device'],
      cliEnv,
    );
    const url = await waitFor(() => /open (https:\/\/\S+)/.exec(cli.stderr())?.[1], {
      description: 'the CLI to print the verification URL',
      timeoutMs: 120_000, // the CLI starts through tsx: slow on a busy machine
    });
    const { context } = await newContext(browser);
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('#submit-login').click();
    await signInOnDex(page, 'platform-admin');
    await page.waitForURL(/\/device\/callback/);
    expect(await cli.exited, cli.stderr()).toBe(0);
    await context.close();

    const configPath = path.join(configDir, 'config.json');
    expect(statSync(configPath).mode & 0o777).toBe(0o600);
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    expect(config.profiles.default.oidc).toMatchObject({
      issuer: env.dex.issuerUrl,
      clientId: 'tenantmesh-cli',
    });
    expect(config.profiles.default.oidc.refreshToken).toEqual(expect.any(String));

    const whoami = await runCli(['whoami', '-o', 'json'], cliEnv);
    expect(JSON.parse(whoami.stdout).email).toBe(demoUser('platform-admin').email);
    expect((await runCli(['tenants', 'list'], cliEnv)).code).toBe(0);
  });

  it('renews an expired token silently with the stored refresh token', async () => {
    const configPath = path.join(configDir, 'config.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8'));
    const expired = [{ alg: 'none' }, { exp: 1 }].map((p) =>
      Buffer.from(JSON.stringify(p)).toString('base64url'),
    );
    config.profiles.default.token = `${expired.join('.')}.x`;
    const oldRefresh = config.profiles.default.oidc.refreshToken;
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
    const listed = await runCli(['tenants', 'list'], cliEnv);
    expect(listed.code, listed.stderr).toBe(0);
    const renewed = JSON.parse(readFileSync(configPath, 'utf8')).profiles.default;
    expect(renewed.token).not.toBe(config.profiles.default.token);
    expect(renewed.oidc.refreshToken).not.toBe(oldRefresh); // Dex rotates refresh tokens
  });

  it('logs in with the browser flow through a loopback redirect', async () => {
    const cli = startCli(
      [
        '--profile',
        'web',
        '--server',
        harness.url,
        'login',
        '--issuer',
        env.dex.issuerUrl,
        '--ca-file',
        caFile,
        '--browser',
      ],
      { ...cliEnv, BROWSER: 'true' },
    );
    const url = await waitFor(() => /visit:\s+(https:\/\/\S+)/.exec(cli.stderr())?.[1], {
      description: 'the CLI to print the login URL',
      timeoutMs: 120_000, // the CLI starts through tsx: slow on a busy machine
    });
    const { context } = await newContext(browser);
    const page = await context.newPage();
    await page.goto(url);
    await signInOnDex(page, 'tenant-admin');
    await page.waitForURL(/127\.0\.0\.1:\d+\/callback/);
    expect(await page.textContent('body')).toContain('Logged in to tenantmesh');
    expect(await cli.exited, cli.stderr()).toBe(0);
    await context.close();
    const whoami = await runCli(['--profile', 'web', 'whoami', '-o', 'json'], cliEnv);
    expect(JSON.parse(whoami.stdout).email).toBe(demoUser('tenant-admin').email);
  });
});
