import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, ExitCode, usageError } from './errors.ts';
import type { OidcLogin } from './oidc-login.ts';

/** Where the `infer` command finds a tenant's mTLS material when flags do not say. */
export interface InferProfile {
  address?: string;
  serverName?: string;
  /** Paths of PEM files. */
  ca?: string;
  cert?: string;
  key?: string;
}

/** One named login: the API it talks to and the credential it uses. */
export interface Profile {
  server?: string;
  token?: string;
  /** Set by an interactive login: the issuer and the refresh token the CLI renews `token` with. */
  oidc?: OidcLogin;
  infer?: InferProfile;
}

/** The CLI's configuration file (mode 0600: it holds bearer tokens). */
export interface CliConfig {
  currentProfile?: string;
  profiles: Record<string, Profile>;
}

/** The environment variables the CLI reads. */
export interface CliEnv {
  TENANTMESH_TOKEN?: string;
  TENANTMESH_SERVER?: string;
  TENANTMESH_PROFILE?: string;
  TENANTMESH_CONFIG_DIR?: string;
  TENANTMESH_DEBUG?: string;
  BROWSER?: string;
  DISPLAY?: string;
  WAYLAND_DISPLAY?: string;
  XDG_CONFIG_HOME?: string;
  HOME?: string;
}

/** `$TENANTMESH_CONFIG_DIR`, else `$XDG_CONFIG_HOME/tenantmesh`, else `~/.config/tenantmesh`. */
export function configDir(env: CliEnv): string {
  if (env.TENANTMESH_CONFIG_DIR) return env.TENANTMESH_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'tenantmesh');
}

/** Path of the configuration file. */
export function configPath(env: CliEnv): string {
  return path.join(configDir(env), 'config.json');
}

/** Reads the configuration; a missing file is an empty configuration. */
export async function loadConfig(env: CliEnv): Promise<CliConfig> {
  const file = configPath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw error;
  }
  try {
    const parsed = JSON.parse(text) as Partial<CliConfig>;
    return { ...parsed, profiles: parsed.profiles ?? {} };
  } catch {
    throw new CliError(`${file} is not valid JSON; fix or remove it`, ExitCode.usage);
  }
}

/** Writes the configuration atomically with mode 0600 (directory 0700): it contains tokens. */
export async function saveConfig(env: CliEnv, config: CliConfig): Promise<void> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writePrivateFile(configPath(env), `${JSON.stringify(config, null, 2)}\n`);
}

/**
 * Writes a secret (token file, private key) so that only its owner can read it, also when `file` already
 * exists with a wider mode or is a symlink: writeFile's `mode` applies only to files it creates, so the text
 * goes to a fresh 0600 file that then replaces `file`.
 */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await rm(temporary, { force: true });
  await writeFile(temporary, text, { mode: 0o600, flag: 'wx' });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

/** The profile name in effect: `--profile`, else `$TENANTMESH_PROFILE`, else the current one, else `default`. */
export function profileName(config: CliConfig, env: CliEnv, flag?: string): string {
  return flag ?? env.TENANTMESH_PROFILE ?? config.currentProfile ?? 'default';
}

/** Server and token for API calls: environment variables win over the stored profile. */
export interface Connection {
  server: string;
  token?: string;
  profile: string;
}

/** Resolves where API calls go and with which token; fails with a hint when there is no server. */
export function resolveConnection(
  config: CliConfig,
  env: CliEnv,
  flags: { profile?: string; server?: string },
): Connection {
  const profile = profileName(config, env, flags.profile);
  const stored = config.profiles[profile] ?? {};
  const server = flags.server ?? env.TENANTMESH_SERVER ?? stored.server;
  if (!server) {
    throw usageError(
      `no API server for profile "${profile}": run \`tenantmesh login --server <url> --token-file <file>\` or set TENANTMESH_SERVER`,
    );
  }
  // A stored token is bound to the server it was stored for: pointing the CLI elsewhere must not hand it over.
  const storedToken = stored.server && sameServer(stored.server, server) ? stored.token : undefined;
  const token = env.TENANTMESH_TOKEN ?? storedToken;
  return { server, profile, ...(token ? { token } : {}) };
}

/** Whether two API URLs name the same server (scheme, host and port; a trailing path does not matter). */
export function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return a === b;
  }
}
