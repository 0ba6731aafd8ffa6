import { Command } from 'commander';
import path from 'node:path';
import { ApiClient } from '../api-client.ts';
import { loadConfig, profileName, sameServer, saveConfig, type InferProfile } from '../config.ts';
import type { CommandContext } from '../context.ts';
import { CliError, ExitCode, usageError } from '../errors.ts';
import { summarizeToken } from '../jwt.ts';
import { formatDetails } from '../output.ts';
import {
  browserAvailable,
  browserLogin,
  defaultCliClientId,
  deviceLogin,
  openInBrowser,
  type OidcLogin,
} from '../oidc-login.ts';

interface LoginOptions {
  token?: string;
  tokenFile?: string;
  issuer?: string;
  clientId?: string;
  caFile?: string;
  device?: boolean;
  browser?: boolean;
  verify: boolean;
  inferAddress?: string;
  inferServerName?: string;
  inferCa?: string;
  inferCert?: string;
  inferKey?: string;
}

/** `login`, `logout`, `whoami`. */
export function authCommands(context: CommandContext): Command[] {
  const login = new Command('login')
    .description(
      'Log in interactively through the identity provider (--issuer: the browser flow where a browser is at ' +
        'hand, else the device flow; the refresh token is kept and used silently), or store a bearer token ' +
        '(an OIDC ID token or a ServiceAccount token) for automation. Prefer --token-file: a token on the ' +
        'command line lands in the shell history.',
    )
    .option('--issuer <url>', 'OIDC issuer to log in with (remembered in the profile)')
    .option('--client-id <id>', `OIDC client of the CLI (default ${defaultCliClientId})`)
    .option('--ca-file <file>', 'CA bundle (PEM) trusted for the issuer')
    .option('--device', 'use the device flow (a code to confirm in any browser)')
    .option('--browser', 'use the browser flow (a redirect to a local port)')
    .option('--token <jwt>', 'the token itself')
    .option('--token-file <file>', 'read the token from a file')
    .option('--no-verify', 'do not check the token against the API before saving it')
    .option('--infer-address <host:port>', 'default --address for `infer`')
    .option('--infer-server-name <name>', 'default --server-name for `infer`')
    .option('--infer-ca <file>', 'default --ca for `infer` (the tenant CA, PEM)')
    .option('--infer-cert <file>', 'default --cert for `infer` (client certificate, PEM)')
    .option('--infer-key <file>', 'default --key for `infer` (client key, PEM)')
    .action(async (options: LoginOptions, command: Command) => {
      const globals = context.globals(command);
      const config = await loadConfig(context.io.env);
      const name = profileName(config, context.io.env, globals.profile);
      const stored = config.profiles[name] ?? {};
      if (options.token !== undefined && options.tokenFile !== undefined)
        throw usageError('give --token or --token-file, not both');
      const interactive =
        options.token === undefined &&
        options.tokenFile === undefined &&
        (options.issuer !== undefined ||
          options.device === true ||
          options.browser === true ||
          !!stored.oidc);
      if (options.device && options.browser) throw usageError('give --device or --browser, not both');
      const server = globals.server ?? stored.server;
      if (!server) throw usageError('login needs --server <url> the first time');
      let oidc: OidcLogin | undefined;
      let token = (
        options.tokenFile !== undefined ? await context.io.readText(options.tokenFile) : options.token
      )?.trim();
      if (interactive) {
        const issuer = options.issuer ?? stored.oidc?.issuer;
        if (!issuer) throw usageError('an interactive login needs --issuer <url> the first time');
        oidc = {
          issuer,
          clientId: options.clientId ?? stored.oidc?.clientId ?? defaultCliClientId,
          ...((options.caFile ?? stored.oidc?.caFile)
            ? { caFile: path.resolve(options.caFile ?? stored.oidc!.caFile!) }
            : {}),
        };
        const client = await context.oidcClient(oidc);
        const prompt = {
          say: (line: string) => context.io.stderr.write(`${line}\n`),
          now: () => context.io.now?.() ?? Date.now(),
          wait: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
        };
        const useBrowser = options.browser === true || (!options.device && browserAvailable(context.io.env));
        const tokens = useBrowser
          ? await browserLogin(
              client,
              prompt,
              context.io.openBrowser ?? ((url) => openInBrowser(url, context.io.env)),
            )
          : await deviceLogin(client, prompt);
        token = tokens.idToken;
        if (tokens.refreshToken) oidc.refreshToken = tokens.refreshToken;
      }
      if (token !== undefined && token === '') throw usageError('the token is empty');
      if (token && options.verify) {
        // Any authenticated caller may list runtimes: a cheap proof that the API accepts the token.
        await new ApiClient({ server, token, ...(context.io.fetch ? { fetch: context.io.fetch } : {}) }).get(
          '/v1/runtimes',
        );
      }
      const infer: InferProfile = { ...stored.infer };
      const files = { ca: options.inferCa, cert: options.inferCert, key: options.inferKey };
      for (const [key, value] of Object.entries(files)) if (value) infer[key as 'ca'] = path.resolve(value);
      if (options.inferAddress) infer.address = options.inferAddress;
      if (options.inferServerName) infer.serverName = options.inferServerName;
      // A token belongs to the server it was stored for; moving the profile elsewhere leaves it behind.
      const { token: storedToken, oidc: storedOidc, ...keep } = stored;
      const sameTarget = stored.server !== undefined && sameServer(stored.server, server);
      const kept = sameTarget ? storedToken : undefined;
      // A pasted token replaces an interactive login: its refresh token must not renew someone else's token.
      const keptOidc = token === undefined && sameTarget ? storedOidc : undefined;
      config.profiles[name] = {
        ...keep,
        server,
        ...((token ?? kept) ? { token: token ?? kept } : {}),
        ...((oidc ?? keptOidc) ? { oidc: oidc ?? keptOidc } : {}),
        ...(Object.keys(infer).length > 0 ? { infer } : {}),
      };
      config.currentProfile = name;
      await saveConfig(context.io.env, config);
      context.info(
        command,
        `logged in: profile "${name}", server ${server}${token ? '' : ' (no token stored)'}`,
      );
    });

  const logout = new Command('logout')
    .description('Forget the stored token of the profile (the server and infer settings stay)')
    .action(async (_options: object, command: Command) => {
      const globals = context.globals(command);
      const config = await loadConfig(context.io.env);
      const name = profileName(config, context.io.env, globals.profile);
      const profile = config.profiles[name];
      if (profile?.token || profile?.oidc?.refreshToken) {
        delete profile.token;
        if (profile.oidc) delete profile.oidc.refreshToken;
        await saveConfig(context.io.env, config);
      }
      context.info(command, `logged out of profile "${name}"`);
    });

  const whoami = new Command('whoami')
    .description('Show the claims of the token in use, decoded locally WITHOUT verifying its signature')
    .action(async (_options: object, command: Command) => {
      const globals = context.globals(command);
      const config = await loadConfig(context.io.env);
      const name = profileName(config, context.io.env, globals.profile);
      const fromEnv = context.io.env.TENANTMESH_TOKEN;
      const token = fromEnv ?? config.profiles[name]?.token;
      if (!token)
        throw new CliError(
          `not logged in (profile "${name}"): run \`tenantmesh login\``,
          ExitCode.unauthenticated,
        );
      const summary = summarizeToken(token, new Date(context.io.now?.() ?? Date.now()));
      const server = globals.server ?? context.io.env.TENANTMESH_SERVER ?? config.profiles[name]?.server;
      const result = {
        profile: name,
        server,
        tokenSource: fromEnv ? 'TENANTMESH_TOKEN' : 'profile',
        verified: false,
        ...summary,
      };
      context.print(
        command,
        result,
        () =>
          formatDetails([
            ['profile', name],
            ['server', server],
            ['token from', result.tokenSource],
            ['subject', summary.subject],
            ['username', summary.username],
            ['email', summary.email],
            ['groups', summary.groups],
            ['issuer', summary.issuer],
            ['audience', summary.audience],
            [
              'expires',
              summary.expiresAt ? `${summary.expiresAt}${summary.expired ? ' (EXPIRED)' : ''}` : undefined,
            ],
          ]) + 'note: claims decoded locally; the signature was not verified (only the API can do that)\n',
      );
    });

  return [login, logout, whoami];
}
