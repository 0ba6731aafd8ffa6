/**
 * The one configuration file the operator and the management API both read (the chart's ConfigMap,
 * `config.json`). Every platform setting lives here; only the object store's credentials come from the
 * environment (`TENANTMESH_S3_ACCESS_KEY`, `TENANTMESH_S3_SECRET_KEY`, from a Secret), so the file holds no
 * secret. docs/configuration.md lists every key and its default.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_PLATFORM_CONFIG, platformConfig, type PlatformConfig } from '../domain/index.ts';

const nonEmpty = z.string().min(1);

const issuerSchema = z
  .object({
    issuerUrl: z.url({ protocol: /^https$/ }),
    audiences: z.array(nonEmpty).min(1),
    usernameClaim: nonEmpty.optional(),
    usernamePrefix: z.string().optional(),
    groupsClaim: nonEmpty.optional(),
    groupsPrefix: z.string().optional(),
    /** PEM bundle trusted for the issuer's discovery document and JWKS (a file mounted from a ConfigMap). */
    caFile: nonEmpty.optional(),
  })
  .strict();

const subjectSchema = z
  .object({
    kind: z.enum(['User', 'Group', 'ServiceAccount']),
    name: nonEmpty,
    namespace: nonEmpty.optional(),
  })
  .strict();

const port = z.number().int().min(0).max(65535);

/** The file's shape; unknown keys are refused so a misspelt setting cannot be silently ignored. */
export const configFileSchema = z
  .object({
    servingNamespace: nonEmpty.optional(),
    /** Namespace of the tenant CA Secrets: the operator's own (the chart's release namespace). */
    caNamespace: nonEmpty.optional(),
    domain: nonEmpty.optional(),
    authorinoProvider: nonEmpty.optional(),
    gateway: z
      .object({
        namespace: nonEmpty.optional(),
        serviceAccount: nonEmpty.optional(),
        selector: z.record(z.string(), z.string()).optional(),
        trustDomain: nonEmpty.optional(),
      })
      .strict()
      .optional(),
    oidc: z
      .object({ issuers: z.array(issuerSchema) })
      .strict()
      .optional(),
    serviceAccountTokenAudiences: z.array(nonEmpty).optional(),
    authorizationCacheTtlSeconds: z.number().int().min(0).optional(),
    storage: z
      .object({
        /** The object store as the operator, the API and the serving pods reach it. */
        endpoint: z.url({ protocol: /^https?$/ }).optional(),
        region: nonEmpty.optional(),
      })
      .strict()
      .optional(),
    /** The management API's Service, which every tenant's registry Service aliases (ExternalName). */
    registryService: z
      .object({ externalName: nonEmpty.optional(), port: port.min(1).optional() })
      .strict()
      .optional(),
    modelPullerImage: nonEmpty.optional(),
    platformAdmins: z.array(subjectSchema).optional(),
    api: z
      .object({
        host: nonEmpty.optional(),
        port: port.optional(),
      })
      .strict()
      .optional(),
    /** The API's web console and its OIDC client; the client secret comes from the environment only. */
    console: z
      .object({
        issuerUrl: z.url({ protocol: /^https$/ }),
        clientId: nonEmpty,
        /** Where people reach the API; the redirect URI is `<publicUrl>/console/auth/callback`. */
        publicUrl: z.url({ protocol: /^https?$/ }),
        /** PEM bundle trusted for the issuer (a file mounted from a ConfigMap). */
        caFile: nonEmpty.optional(),
      })
      .strict()
      .optional(),
    operator: z
      .object({
        /** Port of /healthz, /readyz and /metrics. */
        probePort: port.optional(),
        probeHost: nonEmpty.optional(),
        workers: z.number().int().min(1).optional(),
        leaderElection: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;

/** Where the object store is, as the operator and the API connect to it. */
export interface ObjectStoreConfig {
  endPoint: string;
  port: number;
  useSSL: boolean;
  region: string;
}

/** An OIDC issuer the API trusts, with its CA bundle read. */
export interface TrustedIssuer {
  issuer: string;
  audiences: string[];
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  caPem?: string;
}

/** The console's OIDC client as the file names it (its secret is not in the file), with its CA bundle read. */
export interface ConsoleClientConfig {
  issuer: string;
  clientId: string;
  publicUrl: string;
  caPem?: string;
}

/** Everything both processes take from the file, resolved against the defaults. */
export interface ProcessConfig {
  platform: PlatformConfig;
  objectStore: ObjectStoreConfig;
  oidcIssuers: TrustedIssuer[];
  api: { host: string; port: number };
  /** Present when the API serves the web console. */
  console?: ConsoleClientConfig;
  operator: { probePort: number; probeHost: string; workers: number; leaderElection: boolean };
}

/** Defaults of the process settings (the platform's are {@link DEFAULT_PLATFORM_CONFIG}). */
export const PROCESS_DEFAULTS = {
  /** Where tenant CA keys live when the file names no namespace: the chart's documented release namespace. */
  caNamespace: 'tenantmesh-system',
  // In a Pod the API must accept traffic from the Service; a laptop run passes --host 127.0.0.1.
  api: { host: '0.0.0.0', port: 8080 },
  operator: { probePort: 8081, probeHost: '0.0.0.0', workers: 4, leaderElection: true },
} as const;

/** A configuration file that cannot be used: names the file and every bad key. */
export class ConfigFileError extends Error {
  constructor(source: string, problems: string[]) {
    super(`${source}: ${problems.join('; ')}`);
    this.name = 'ConfigFileError';
  }
}

/** Parses and resolves a configuration document; `readText` reads files it refers to (CA bundles). */
export function parseConfigFile(
  text: string,
  source: string,
  readText: (file: string) => string = (file) => readFileSync(file, 'utf8'),
): ProcessConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigFileError(source, [`not JSON: ${(error as Error).message}`]);
  }
  const parsed = configFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigFileError(
      source,
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`),
    );
  }
  const servingNamespace = parsed.data.servingNamespace ?? DEFAULT_PLATFORM_CONFIG.servingNamespace;
  if ((parsed.data.caNamespace ?? PROCESS_DEFAULTS.caNamespace) === servingNamespace) {
    // Every tenant's model code runs in the serving namespace: the tenants' CA private keys must not.
    throw new ConfigFileError(source, [
      `caNamespace: must not be the serving namespace "${servingNamespace}" (tenant CA keys stay out of it)`,
    ]);
  }
  return resolveConfig(parsed.data, source, readText);
}

/** Reads and resolves the configuration file at `path`. */
export function loadConfigFile(path: string): ProcessConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigFileError(path, [`cannot read: ${(error as Error).message}`]);
  }
  return parseConfigFile(text, path);
}

function resolveConfig(file: ConfigFile, source: string, readText: (file: string) => string): ProcessConfig {
  const defaults = DEFAULT_PLATFORM_CONFIG;
  const storageEndpoint = file.storage?.endpoint ?? defaults.storage.endpoint;
  const issuers = file.oidc?.issuers ?? [];
  const platform = platformConfig({
    servingNamespace: file.servingNamespace ?? defaults.servingNamespace,
    caNamespace: file.caNamespace ?? PROCESS_DEFAULTS.caNamespace,
    domain: file.domain ?? defaults.domain,
    authorinoProvider: file.authorinoProvider ?? defaults.authorinoProvider,
    gatewayNamespace: file.gateway?.namespace ?? defaults.gatewayNamespace,
    gatewayServiceAccount: file.gateway?.serviceAccount ?? defaults.gatewayServiceAccount,
    gatewaySelector: file.gateway?.selector ?? defaults.gatewaySelector,
    trustDomain: file.gateway?.trustDomain ?? defaults.trustDomain,
    // One list for the API's verifiers and the AuthConfigs (domain/oidc.ts derives the claim rules of both).
    oidcIssuers: issuers.map(({ caFile, ...issuer }) => ({
      ...issuer,
      ...(caFile ? { certificateAuthority: readCa(caFile, source, readText) } : {}),
    })),
    serviceAccountTokenAudiences: file.serviceAccountTokenAudiences ?? defaults.serviceAccountTokenAudiences,
    authorizationCacheTtlSeconds: file.authorizationCacheTtlSeconds ?? defaults.authorizationCacheTtlSeconds,
    storage: { endpoint: storageEndpoint },
    registryService: {
      externalName: file.registryService?.externalName ?? defaults.registryService.externalName,
      port: file.registryService?.port ?? defaults.registryService.port,
    },
    modelPullerImage: file.modelPullerImage ?? defaults.modelPullerImage,
    platformAdmins: file.platformAdmins ?? defaults.platformAdmins,
  });
  const url = new URL(storageEndpoint);
  const useSSL = url.protocol === 'https:';
  return {
    platform,
    objectStore: {
      endPoint: url.hostname,
      port: url.port ? Number(url.port) : useSSL ? 443 : 80,
      useSSL,
      region: file.storage?.region ?? 'us-east-1',
    },
    oidcIssuers: issuers.map((issuer) => ({
      issuer: issuer.issuerUrl,
      audiences: issuer.audiences,
      ...(issuer.usernameClaim ? { usernameClaim: issuer.usernameClaim } : {}),
      ...(issuer.usernamePrefix ? { usernamePrefix: issuer.usernamePrefix } : {}),
      ...(issuer.groupsClaim ? { groupsClaim: issuer.groupsClaim } : {}),
      ...(issuer.groupsPrefix ? { groupsPrefix: issuer.groupsPrefix } : {}),
      ...(issuer.caFile ? { caPem: readCa(issuer.caFile, source, readText) } : {}),
    })),
    api: {
      host: file.api?.host ?? PROCESS_DEFAULTS.api.host,
      port: file.api?.port ?? PROCESS_DEFAULTS.api.port,
    },
    ...(file.console
      ? {
          console: {
            issuer: file.console.issuerUrl,
            clientId: file.console.clientId,
            publicUrl: file.console.publicUrl,
            ...(file.console.caFile
              ? { caPem: readCa(file.console.caFile, source, readText, 'console.caFile') }
              : {}),
          },
        }
      : {}),
    operator: {
      probePort: file.operator?.probePort ?? PROCESS_DEFAULTS.operator.probePort,
      probeHost: file.operator?.probeHost ?? PROCESS_DEFAULTS.operator.probeHost,
      workers: file.operator?.workers ?? PROCESS_DEFAULTS.operator.workers,
      leaderElection: file.operator?.leaderElection ?? PROCESS_DEFAULTS.operator.leaderElection,
    },
  };
}

function readCa(
  file: string,
  source: string,
  readText: (file: string) => string,
  key = 'oidc.issuers[].caFile',
): string {
  try {
    return readText(file);
  } catch (error) {
    throw new ConfigFileError(source, [`${key} ${file}: ${(error as Error).message}`]);
  }
}

/** The console client's secret, from the environment only (a Secret in the chart). */
export function consoleClientSecret(env: NodeJS.ProcessEnv): string {
  const secret = env['TENANTMESH_CONSOLE_CLIENT_SECRET'];
  if (!secret) throw new Error('console is configured: TENANTMESH_CONSOLE_CLIENT_SECRET must be set');
  return secret;
}

/** The object store's credentials, from the environment only (a Secret in the chart). */
export function objectStoreCredentials(env: NodeJS.ProcessEnv): { accessKey: string; secretKey: string } {
  const accessKey = env['TENANTMESH_S3_ACCESS_KEY'];
  const secretKey = env['TENANTMESH_S3_SECRET_KEY'];
  if (!accessKey || !secretKey) {
    throw new Error('TENANTMESH_S3_ACCESS_KEY and TENANTMESH_S3_SECRET_KEY must be set');
  }
  return { accessKey, secretKey };
}
