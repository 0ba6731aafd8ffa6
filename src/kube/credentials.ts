import { readFile } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeCredentials, KubeconfigSource } from './kubeconfig.ts';

/** What one request carries to authenticate: headers, and a client certificate when a plugin issued one. */
export interface RequestAuth {
  headers: Record<string, string>;
  cert?: Buffer | string;
  key?: Buffer | string;
}

/** Produces the authentication of each request; may re-read files or run plugins, hence async. */
export type Authenticator = () => Promise<RequestAuth>;

/** How often a token file is re-read: kubelet rotates projected tokens well before they expire. */
export const tokenFileRefreshMs = 60_000;

/** Builds the authenticator for a connection's credentials. `now` is injectable for tests. */
export function authenticatorFor(credentials: KubeCredentials, now: () => number = Date.now): Authenticator {
  switch (credentials.kind) {
    case 'none':
      return () => Promise.resolve({ headers: {} });
    case 'token': {
      const auth = { headers: { Authorization: `Bearer ${credentials.token}` } };
      return () => Promise.resolve(auth);
    }
    case 'basic': {
      const encoded = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      const auth = { headers: { Authorization: `Basic ${encoded}` } };
      return () => Promise.resolve(auth);
    }
    case 'tokenFile':
      return tokenFileAuthenticator(credentials.path, now);
    case 'plugin':
      return pluginAuthenticator(credentials.source, credentials.context);
  }
}

function tokenFileAuthenticator(path: string, now: () => number): Authenticator {
  let token: string | undefined;
  let readAt = 0;
  let pending: Promise<string> | undefined;
  const refresh = async (): Promise<string> => {
    try {
      token = (await readFile(path, 'utf8')).trim();
      readAt = now();
      return token;
    } catch (err) {
      // A failed re-read keeps the last token (it is likely still valid); without one there is nothing to send.
      if (token === undefined) throw err;
      return token;
    } finally {
      pending = undefined;
    }
  };
  return async () => {
    const current =
      token !== undefined && now() - readAt < tokenFileRefreshMs ? token : await (pending ??= refresh());
    return { headers: { Authorization: `Bearer ${current}` } };
  };
}

/**
 * `exec` and `auth-provider` users: the client library runs the plugin (and caches its credential until it
 * expires). It is imported on first use only, because loading it costs over 100 MiB of memory.
 */
function pluginAuthenticator(source: KubeconfigSource, context: string): Authenticator {
  let loaded: Promise<KubeConfig> | undefined;
  const load = async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const config = new KubeConfig();
    if ('path' in source) config.loadFromFile(source.path);
    else config.loadFromString(source.yaml);
    config.setCurrentContext(context);
    return config;
  };
  return async () => {
    // A failed load (e.g. a broken kubeconfig) is retried on the next request instead of being cached.
    const config = await (loaded ??= load().catch((err: unknown) => {
      loaded = undefined;
      throw err;
    }));
    const options: RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[name] = String(value);
    }
    const auth: RequestAuth = { headers };
    // Exec plugins may answer with a client certificate instead of a token.
    if (options.cert) auth.cert = options.cert as Buffer | string;
    if (options.key) auth.key = options.key as Buffer | string;
    return auth;
  };
}
