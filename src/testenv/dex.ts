import { randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { stringify } from 'yaml';

/** OAuth client ids of the local platform's identity provider. */
export const consoleClientId = 'tenantmesh-console';
export const cliClientId = 'tenantmesh-cli';
/**
 * A public client of some other application at the same identity provider: tenantmesh accepts none of its tokens
 * (not among an issuer's audiences). Rendered only where tests need such a token.
 */
export const otherApplicationClientId = 'another-application';

/** The demo people of the local platform, each standing for one kind of user. */
export type DemoRole = 'platform-admin' | 'tenant-admin' | 'tenant-user' | 'no-rights';

/** Groups the demo tenant's admins and users belong to (the demo tenant is `demo`). */
export const demoTenant = 'demo';
export const demoGroups = {
  platformAdmins: 'tenantmesh:platform-admins',
  tenantAdmins: 'demo-admins',
  tenantUsers: 'demo-users',
} as const;

/** A person who can log in to the local identity provider; the password is generated per run. */
export interface DemoUser {
  role: DemoRole;
  email: string;
  name: string;
  groups: string[];
  password: string;
}

/** What clients of the local identity provider need to know about it (plain data). */
export interface DexInfo {
  issuerUrl: string;
  /** The console's confidential client; its redirect URI names the management API's console callback. */
  console: { clientId: string; clientSecret: string; redirectUris: string[] };
  /** The CLI's public client (device flow, loopback redirects). */
  cli: { clientId: string };
  users: DemoUser[];
}

/** The four demo users, with fresh random passwords. */
export function makeDemoUsers(): DemoUser[] {
  const password = () => randomBytes(12).toString('base64url');
  return [
    {
      role: 'platform-admin',
      email: 'admin@tenantmesh.local',
      name: 'Ada Admin',
      groups: [demoGroups.platformAdmins],
      password: password(),
    },
    {
      role: 'tenant-admin',
      email: 'tenant-admin@tenantmesh.local',
      name: 'Tom Tenant-Admin',
      groups: [demoGroups.tenantAdmins],
      password: password(),
    },
    {
      role: 'tenant-user',
      email: 'user@tenantmesh.local',
      name: 'Uma User',
      groups: [demoGroups.tenantUsers],
      password: password(),
    },
    {
      role: 'no-rights',
      email: 'nobody@tenantmesh.local',
      name: 'Nick Nobody',
      groups: [],
      password: password(),
    },
  ];
}

/** Input of {@link renderDexConfig}: everything is decided by the caller, so the output is deterministic. */
export interface DexConfigInput {
  issuerUrl: string;
  listen: string;
  telemetryListen: string;
  tlsCertPath: string;
  tlsKeyPath: string;
  consoleClient: DexInfo['console'];
  /** Users with their bcrypt password hashes (never the passwords). */
  users: { email: string; name: string; groups: string[]; hash: string; userId: string }[];
  idTokenLifetime?: string;
  /**
   * Allow the resource owner password grant (any client, the local connector's users): headless clients such as
   * end-to-end tests get a demo user's ID token without a browser. Off unless asked.
   */
  passwordGrant?: boolean;
  /** Public clients of other applications (ids), e.g. {@link otherApplicationClientId}. */
  otherPublicClients?: string[];
}

/**
 * Dex's configuration: memory storage, the local password database as the only connector, a confidential console
 * client (authorization code with PKCE) and a public CLI client (device flow and loopback redirects).
 */
export function renderDexConfig(input: DexConfigInput): string {
  return stringify(
    {
      issuer: input.issuerUrl,
      storage: { type: 'memory' },
      web: { https: input.listen, tlsCert: input.tlsCertPath, tlsKey: input.tlsKeyPath },
      telemetry: { http: input.telemetryListen },
      logger: { level: 'info', format: 'json' },
      oauth2: {
        skipApprovalScreen: true,
        passwordConnector: 'local',
        responseTypes: ['code'],
        grantTypes: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
          ...(input.passwordGrant ? ['password'] : []),
        ],
      },
      expiry: {
        idTokens: input.idTokenLifetime ?? '1h',
        deviceRequests: '5m',
        refreshTokens: { validIfNotUsedFor: '24h', absoluteLifetime: '168h' },
      },
      enablePasswordDB: true,
      staticClients: [
        {
          id: input.consoleClient.clientId,
          name: 'tenantmesh console',
          secret: input.consoleClient.clientSecret,
          redirectURIs: input.consoleClient.redirectUris,
        },
        { id: cliClientId, name: 'tenantmesh CLI', public: true },
        ...(input.otherPublicClients ?? []).map((id) => ({ id, name: id, public: true })),
      ],
      staticPasswords: input.users.map((user) => ({
        email: user.email,
        username: user.name,
        userID: user.userId,
        emailVerified: true,
        hash: user.hash,
        groups: user.groups,
      })),
    },
    { version: '1.1', lineWidth: 0 },
  );
}

/** Bcrypt hashes of the users' passwords, as Dex's password database wants them (cost 10, its minimum). */
export async function hashPasswords(users: DemoUser[]): Promise<DexConfigInput['users']> {
  return Promise.all(
    users.map(async (user, index) => ({
      email: user.email,
      name: user.name,
      groups: user.groups,
      userId: `demo-${index}`,
      hash: await bcrypt.hash(user.password, 10),
    })),
  );
}
