import { writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/errors.ts';
import { dexHost } from '../../src/localcluster/identity-provider.ts';
import { tenantmeshRelease } from '../../src/localcluster/release.ts';
import { cliClientId, demoGroups, otherApplicationClientId, type DemoRole } from '../../src/testenv/dex.ts';
import { waitFor } from '../../src/testenv/wait.ts';
import { trainSklearnModel, type TrainedModel } from '../support/sklearn-model.ts';
import {
  endpointHost,
  gatewayInferFlags,
  issueClientCertificate,
  kserveInferArgs,
  removeServingUser,
  serveModel,
  servingUser,
  waitForGatewayRoute,
  type ClientCertificate,
  type ServingUser,
} from './serving-support.ts';
import { currentNode, installedConsole, type InstalledConsole, type NodeSummary } from './support.ts';

/**
 * People of the identity provider calling a tenant's model through the real gateway path with their OIDC ID
 * token: Dex as a Pod on the node (the chart lists it among `oidc.issuers`), the Istio ingress gateway, Authorino
 * verifying the token against Dex's discovery document and keys (it trusts Dex's CA) and deciding with a
 * SubjectAccessReview of the token's user and groups, the model Pod's sidecar, MLServer. Tokens are real: Dex's
 * password grant for its demo users, fetched through a 127.0.0.1 forward of Dex's Service.
 */
const tenant = 'e2e-oidc';
const model = 'iris';
const adminName = 'oidc-admin';
let node: NodeSummary;
let admin: ServingUser;
let installed: InstalledConsole;
let trained: TrainedModel;
let certificate: ClientCertificate;
let host: string;

/** An ID token Dex issues to `clientId` for a demo user (resource owner password grant). */
function idToken(role: DemoRole, clientId = cliClientId): Promise<string> {
  const user = installed.identityProvider.users.find((u) => u.role === role);
  if (!user) throw new Error(`no demo user for ${role}`);
  const body = new URLSearchParams({
    grant_type: 'password',
    client_id: clientId,
    username: user.email,
    password: user.password,
    scope: 'openid email profile groups',
  }).toString();
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: '127.0.0.1',
        port: installed.dexPort,
        servername: dexHost(tenantmeshRelease.namespace),
        ca: installed.identityProvider.caPem,
        method: 'POST',
        path: `${new URL(installed.identityProvider.issuerUrl).pathname}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        agent: false,
        timeout: 20_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const answer = JSON.parse(text) as { id_token?: string; error?: string };
          if (response.statusCode === 200 && answer.id_token) resolve(answer.id_token);
          else reject(new Error(`Dex token endpoint ${response.statusCode}: ${answer.error ?? text}`));
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('Dex token endpoint timed out')));
    request.on('error', reject);
    request.end(body);
  });
}

/** The claims of a JWT (no verification: only to show what a test sends). */
const claimsOf = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

let tokenFiles = 0;
/** The token in a file of its own (`--token-file`: it stays off command lines). */
function tokenFile(token: string): string {
  const file = path.join(admin.work, `token-${++tokenFiles}`);
  writeFileSync(file, token, { mode: 0o600 });
  return file;
}

/** `tenantmesh infer` of the trained model's inputs through the gateway with a bearer token (and maybe a certificate). */
function infer(token: string | undefined, options: { withCertificate: boolean }) {
  return admin.run(
    'infer',
    ...gatewayInferFlags(admin, host, certificate, options),
    ...(token === undefined ? [] : ['--token-file', tokenFile(token)]),
    ...kserveInferArgs(model, trained.inputs),
  );
}

/** The model's predictions came back through the gateway. */
async function expectPredictions(answer: ReturnType<typeof infer>): Promise<void> {
  const result = await answer;
  expect(result.code, result.stderr).toBe(0);
  const outputs = (JSON.parse(result.stdout) as { outputs: { data: number[] }[] }).outputs;
  expect(outputs[0]?.data).toEqual(trained.predictions);
}

/** Authorino refused: the CLI's exit code for the gRPC status the gateway answered with, and what it printed. */
async function expectRefused(
  answer: ReturnType<typeof infer>,
  how: 'permission-denied' | 'unauthenticated',
): Promise<void> {
  const result = await answer;
  const code = how === 'permission-denied' ? ExitCode.permissionDenied : ExitCode.unauthenticated;
  expect(result.code, result.stderr + result.stdout).toBe(code);
  expect(result.stderr).toContain(how === 'permission-denied' ? 'permission denied' : 'not authenticated');
  expect(result.stdout).not.toContain('outputs');
}

beforeAll(async () => {
  node = await currentNode();
  admin = await servingUser(node, adminName);
  // The chart again, with Dex among its OIDC issuers (and Authorino made to trust Dex's CA).
  installed = await installedConsole(node);
  trained = await trainSklearnModel(path.join(admin.work, 'iris.joblib'));
  await serveModel(admin, { tenant, model, version: '1', file: trained.path });
  // As a platform admin grants a group of the identity provider the use of a tenant.
  await admin.cli('access', 'grant', tenant, `group:${demoGroups.tenantUsers}`, '--role', 'users');
  certificate = await issueClientCertificate(admin, tenant, 'oidc-channel');
  host = await endpointHost(admin, tenant, model);
  await waitForGatewayRoute(admin, host, certificate, model);
}, 900_000);

afterAll(async () => {
  if (!admin) return;
  await admin.run('tenants', 'delete', tenant, '--purge', '--yes');
  await removeServingUser(admin, adminName);
}, 180_000);

describe('OIDC users at the gateway of a tenant with clientAuthentication certificate', () => {
  it('serves predictions to a user whose group the tenant’s users role is granted to', async () => {
    const token = await idToken('tenant-user');
    expect(claimsOf(token)).toMatchObject({ aud: cliClientId, groups: [demoGroups.tenantUsers] });
    await expectPredictions(infer(token, { withCertificate: true }));
  });

  it('refuses (PERMISSION_DENIED) users outside the tenant’s users, even over a valid certificate’s channel', async () => {
    // No groups at all, and a group of the identity provider that is granted nothing on this tenant.
    for (const role of ['no-rights', 'tenant-admin'] as const) {
      await expectRefused(infer(await idToken(role), { withCertificate: true }), 'permission-denied');
    }
  });

  it('refuses (UNAUTHENTICATED) a token whose signature does not verify, and one that is no JWT', async () => {
    // A real token of a user with no rights, its groups changed to the granted one: the signature no longer fits.
    const real = await idToken('no-rights');
    const [header, , signature] = real.split('.');
    const claims = { ...claimsOf(real), groups: [demoGroups.tenantUsers] };
    const forged = `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
    await expectRefused(infer(forged, { withCertificate: true }), 'unauthenticated');
    await expectRefused(infer('not-a-jwt', { withCertificate: true }), 'unauthenticated');
  });

  it('refuses (PERMISSION_DENIED) the user’s own token issued to another application (audience)', async () => {
    const token = await idToken('tenant-user', otherApplicationClientId);
    expect(claimsOf(token)).toMatchObject({
      aud: otherApplicationClientId,
      groups: [demoGroups.tenantUsers],
    });
    await expectRefused(infer(token, { withCertificate: true }), 'permission-denied');
  });

  it('refuses a token alone: the gateway’s handshake wants a certificate', async () => {
    const result = await infer(await idToken('tenant-user'), { withCertificate: false });
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stdout).not.toContain('outputs');
  });
});

describe('OIDC users of the same tenant with clientAuthentication certificateOrToken', () => {
  beforeAll(async () => {
    await admin.cli('tenants', 'patch', tenant, '--client-authentication', 'certificateOrToken');
    const token = await idToken('tenant-user');
    await waitFor(async () => (await infer(token, { withCertificate: false })).code === 0, {
      description: 'a bearer token alone to be served',
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
  }, 180_000);

  it('serves predictions to the granted user with the token alone', async () => {
    await expectPredictions(infer(await idToken('tenant-user'), { withCertificate: false }));
  });

  it('refuses (PERMISSION_DENIED) users outside the tenant’s users, and (UNAUTHENTICATED) no credential', async () => {
    await expectRefused(infer(await idToken('no-rights'), { withCertificate: false }), 'permission-denied');
    await expectRefused(
      infer(await idToken('tenant-admin'), { withCertificate: false }),
      'permission-denied',
    );
    await expectRefused(infer(undefined, { withCertificate: false }), 'unauthenticated');
  });

  it('refuses the same user’s token once the group’s grant is revoked (within the decision cache’s TTL)', async () => {
    const token = await idToken('tenant-user');
    await admin.cli('access', 'revoke', tenant, `group:${demoGroups.tenantUsers}`, '--role', 'users');
    const revoked = Date.now();
    // Authorino may reuse its decision for authorizationCacheTtlSeconds (the chart's default: 30 s).
    await waitFor(async () => (await infer(token, { withCertificate: false })).code !== 0, {
      description: 'the revoked group to be refused',
      timeoutMs: 45_000,
      intervalMs: 2_000,
    });
    console.log(`[oidc-gateway] grant revoked → refused in ${((Date.now() - revoked) / 1000).toFixed(1)} s`);
    await expectRefused(infer(token, { withCertificate: false }), 'permission-denied');
  }, 120_000);
});
