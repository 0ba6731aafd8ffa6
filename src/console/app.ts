import type { Context, Middleware, Next } from 'koa';
import { Readable } from 'node:stream';
import Router from '@koa/router';
import { jwtClaims, OidcClient, pkcePair, randomToken, type OidcClientConfig } from '../auth/oidc-client.ts';
import type { AccessDto, CertificateDto, EndpointDto, RuntimeDto, TenantDto } from '../api/presenters.ts';
import type { ManifestFile } from '../storage/store.ts';
import { ApiAnswerError, BackendForFrontend, SessionEnded } from './bff.ts';
import type { ConsoleAssets } from './assets.ts';
import { html, seg, type SafeHtml } from './html.ts';
import { accessPage } from './pages/access.ts';
import { certificatesPage } from './pages/certificates.ts';
import { tenantPath } from './pages/components.ts';
import { endpointsPage } from './pages/endpoints.ts';
import { page, plainPage, type PageFrame, type TenantTab } from './pages/layout.ts';
import { modelsPage, type ModelView } from './pages/models.ts';
import { tenantPage } from './pages/tenant.ts';
import { tenantsPage } from './pages/tenants.ts';
import { csrfTokenMatches, SessionStore, type Session } from './session.ts';

/** How the console is configured: the identity provider it logs people in with and where it is reachable. */
export interface ConsoleOptions {
  /** The console's OIDC client (confidential: it has a secret; PKCE is used all the same). */
  oidc: OidcClientConfig;
  /** The URL people open the API at (`http://127.0.0.1:8080`); the OIDC redirect URI is derived from it. */
  publicUrl: string;
  /** Built assets; without them the console answers 503 naming the build command. */
  assets: ConsoleAssets | undefined;
  /** Scopes requested at login. */
  scopes?: string[];
  sessions?: SessionStore;
  now?: () => number;
}

const SESSION_COOKIE = 'tm_session';
const LOGIN_COOKIE = 'tm_login';

/**
 * Strict policy: only this origin's script and stylesheet, no inline code, no framing, forms and fetches to this
 * origin only.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

type Part = TenantTab;

/** Builds the console's middleware: it answers every path under /console and passes anything else on. */
export function createConsole(options: ConsoleOptions): Middleware {
  const sessions = options.sessions ?? new SessionStore();
  const now = options.now ?? Date.now;
  const oidc = new OidcClient(options.oidc);
  const bff = new BackendForFrontend(oidc, sessions, now);
  const secure = options.publicUrl.startsWith('https:');
  const redirectUri = `${options.publicUrl.replace(/\/$/, '')}/console/auth/callback`;
  const scopes = options.scopes ?? ['openid', 'email', 'profile', 'groups', 'offline_access'];
  const router = new Router({ prefix: '/console' });

  const assets = () => {
    if (!options.assets) {
      const error = new Error('the console assets are not built; run `npm run build:console`');
      (error as Error & { status: number }).status = 503;
      throw error;
    }
    return options.assets;
  };
  const sessionOf = (ctx: Context): Session | undefined => sessions.get(ctx.cookies.get(SESSION_COOKIE));
  const loginUrl = (returnTo: string) => `/console/auth/login?return_to=${encodeURIComponent(returnTo)}`;
  /** The API's own listener, reached over loopback: the request arrived on it, so it is this very process. */
  const apiOrigin = (ctx: Context) => {
    const socket = ctx.req.socket;
    const address = (socket.localAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    return `http://${address.includes(':') ? `[${address}]` : address}:${socket.localPort}`;
  };
  const sendHtml = (ctx: Context, body: SafeHtml, status = 200) => {
    ctx.status = status;
    ctx.type = 'text/html; charset=utf-8';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body.toString();
  };
  const problemPage = (ctx: Context, status: number, title: string, detail: string) =>
    sendHtml(
      ctx,
      plainPage({
        title,
        assets: assets().urls,
        message: html`<p>${detail}</p>
          <p><a href="/console/tenants">Back to the tenants</a></p>`,
      }),
      status,
    );

  // ----- assets -----
  router.get('/assets/:file', (ctx) => {
    const file = assets().files.get(ctx.path);
    if (!file) return problemPage(ctx, 404, 'Not found', 'No such asset.');
    ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
    ctx.type = file.contentType;
    ctx.body = file.body;
  });

  // ----- login, callback, logout -----
  router.get('/auth/login', async (ctx) => {
    const returnTo = safeReturnPath(ctx.query['return_to']);
    const { verifier, challenge } = pkcePair();
    const state = randomToken();
    const nonce = randomToken();
    const loginId = sessions.startLogin({ state, nonce, codeVerifier: verifier, returnTo });
    // Lax, not Strict: the identity provider's redirect back is a cross-site navigation.
    ctx.cookies.set(LOGIN_COOKIE, loginId, {
      httpOnly: true,
      sameSite: 'lax',
      secure,
      path: '/console/auth',
      maxAge: 10 * 60_000,
      overwrite: true,
    });
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(
      await oidc.authorizationUrl({ redirectUri, state, nonce, codeChallenge: challenge, scopes }),
    );
  });

  router.get('/auth/callback', async (ctx) => {
    const login = sessions.takeLogin(ctx.cookies.get(LOGIN_COOKIE));
    ctx.cookies.set(LOGIN_COOKIE, '', { path: '/console/auth', maxAge: 0, overwrite: true });
    const error = stringParam(ctx.query['error']);
    if (error) {
      const description = stringParam(ctx.query['error_description']);
      return loginFailed(
        ctx,
        `The identity provider said: ${error}${description ? ` (${description})` : ''}.`,
      );
    }
    const code = stringParam(ctx.query['code']);
    if (!login || !code || stringParam(ctx.query['state']) !== login.state) {
      return loginFailed(ctx, 'This login link is unknown or expired.');
    }
    let tokens;
    try {
      tokens = await oidc.exchangeCode({ code, redirectUri, codeVerifier: login.codeVerifier });
    } catch {
      return loginFailed(ctx, 'The identity provider did not accept the login.');
    }
    const claims = jwtClaims(tokens.idToken);
    if (claims['nonce'] !== login.nonce)
      return loginFailed(ctx, 'The login answer does not belong to this login.');
    const session = sessions.create(tokens, {
      email: typeof claims['email'] === 'string' ? claims['email'] : '',
      name: typeof claims['name'] === 'string' ? claims['name'] : '',
      groups: Array.isArray(claims['groups']) ? claims['groups'].filter((g) => typeof g === 'string') : [],
    });
    ctx.cookies.set(SESSION_COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'strict',
      secure,
      path: '/console',
      overwrite: true,
    });
    // A Strict cookie is not sent on the rest of a redirect chain that began at another site, so the browser is
    // sent on from a page of this origin instead of by a redirect.
    sendHtml(
      ctx,
      html`<!doctype html>
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta http-equiv="refresh" content="0;url=${login.returnTo}" />
            <title>Signed in · tenantmesh</title>
          </head>
          <body>
            <main>
              <p>Signed in. <a href="${login.returnTo}">Continue</a></p>
            </main>
          </body>
        </html>`,
    );
  });

  const loginFailed = (ctx: Context, detail: string) =>
    sendHtml(
      ctx,
      plainPage({
        title: 'Login failed',
        assets: assets().urls,
        message: html`<p>${detail}</p>
          <p><a href="/console/auth/login">Try again</a></p>`,
      }),
      400,
    );

  router.post('/auth/logout', async (ctx) => {
    const session = sessionOf(ctx);
    const form = new URLSearchParams(await readSmallBody(ctx, 4096));
    if (session) {
      if (!csrfTokenMatches(session, form.get('csrf') ?? undefined)) {
        return problemPage(ctx, 403, 'Forbidden', 'The request did not carry this session’s CSRF token.');
      }
      sessions.delete(session.id);
    }
    ctx.cookies.set(SESSION_COOKIE, '', { path: '/console', maxAge: 0, overwrite: true });
    sendHtml(
      ctx,
      plainPage({
        title: 'Signed out',
        assets: assets().urls,
        message: html`<p>You are signed out of the console.</p>
          <p><a href="/console/auth/login">Log in again</a></p>`,
      }),
    );
  });

  // ----- the proxy page scripts call the API through -----
  router.all('/api/{*path}', async (ctx) => {
    const session = sessionOf(ctx);
    if (!session) {
      ctx.status = 401;
      ctx.type = 'application/problem+json';
      ctx.body = { title: 'Unauthenticated', status: 401, detail: 'no console session; log in again' };
      return;
    }
    const method = ctx.method;
    if (method !== 'GET' && method !== 'HEAD') {
      const origin = ctx.get('Origin');
      const sameOrigin = !origin || origin === `${ctx.protocol}://${ctx.host}`;
      if (!sameOrigin || !csrfTokenMatches(session, ctx.get('X-CSRF-Token') || undefined)) {
        ctx.status = 403;
        ctx.type = 'application/problem+json';
        ctx.body = { title: 'Forbidden', status: 403, detail: 'missing or wrong CSRF token' };
        return;
      }
    }
    const apiPath = ctx.path.slice('/console/api'.length);
    if (!apiPath.startsWith('/v1/')) {
      ctx.status = 404;
      ctx.type = 'application/problem+json';
      ctx.body = { title: 'Not found', status: 404, detail: 'the console proxies /v1 routes only' };
      return;
    }
    try {
      const answer = await bff.forward(
        apiOrigin(ctx),
        session,
        method,
        `${apiPath}${ctx.querystring ? `?${ctx.querystring}` : ''}`,
        ctx.req,
      );
      ctx.status = answer.status;
      for (const name of ['content-type', 'content-disposition', 'content-length', 'etag', 'content-range']) {
        const value = answer.headers.get(name);
        if (value) ctx.set(name, value);
      }
      ctx.set('Cache-Control', 'no-store');
      ctx.body = answer.body ? readableFrom(answer.body) : null;
    } catch (error) {
      if (!(error instanceof SessionEnded)) throw error;
      ctx.status = 401;
      ctx.type = 'application/problem+json';
      ctx.body = { title: 'Unauthenticated', status: 401, detail: 'the session ended; log in again' };
    }
  });

  // ----- pages -----
  /** Runs a page handler with the session, sending the user to login (and back) when there is none. */
  const withSession =
    (handler: (ctx: Context, session: Session, origin: string) => Promise<void>) => async (ctx: Context) => {
      const session = sessionOf(ctx);
      if (!session) return ctx.redirect(loginUrl(ctx.path));
      try {
        await handler(ctx, session, apiOrigin(ctx));
      } catch (error) {
        if (error instanceof SessionEnded) return ctx.redirect(loginUrl(ctx.path));
        if (error instanceof ApiAnswerError) {
          const status = error.status === 403 ? 404 : error.status;
          const title = status === 404 ? 'Not found' : (error.problem.title ?? 'Error');
          const detail =
            status === 404
              ? 'There is nothing here for you, or it does not exist.'
              : (error.problem.detail ?? `The API answered HTTP ${error.status}.`);
          return problemPage(ctx, status >= 400 && status < 600 ? status : 502, title, detail);
        }
        throw error;
      }
    };
  const frame = (session: Session, title: string, extra: Partial<PageFrame> = {}): PageFrame => ({
    title,
    user: session.user,
    csrfToken: session.csrfToken,
    assets: assets().urls,
    ...extra,
  });

  router.get('/', (ctx) => ctx.redirect('/console/tenants'));

  router.get(
    '/tenants',
    withSession(async (ctx, session, origin) => {
      const [tenants, permissions] = await Promise.all([
        bff.get<{ items: TenantDto[] }>(origin, session, '/v1/tenants'),
        bff.get<{ tenants: { create: boolean } }>(origin, session, '/v1/permissions'),
      ]);
      sendHtml(
        ctx,
        page(
          frame(session, 'Tenants'),
          tenantsPage({ tenants: tenants.items, mayCreate: permissions.tenants.create }),
        ),
      );
    }),
  );

  /** The tenant, what the user may do on it, and the frame of its pages. */
  const tenantContext = async (
    session: Session,
    origin: string,
    tenant: string,
    current: Part | 'overview',
  ) => {
    const base = `/v1/tenants/${seg(tenant)}`;
    const [dto, permissions] = await Promise.all([
      bff.get<TenantDto>(origin, session, base),
      bff.get<TenantPermissions>(origin, session, `${base}/permissions`),
    ]);
    const tabs = (['access', 'models', 'endpoints', 'certificates'] as const).filter(
      (part) => permissions[part].list,
    );
    const pageFrame = (title: string) =>
      frame(session, title, {
        tenant: { name: tenant, tabs, current },
        breadcrumbs: [
          { text: 'Tenants', href: '/console/tenants' },
          { text: tenant, href: tenantPath(tenant) },
          ...(current === 'overview' ? [] : [{ text: title }]),
        ],
      });
    return { base, dto, permissions, pageFrame };
  };

  router.get(
    '/tenants/:tenant',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const { base, dto, permissions, pageFrame } = await tenantContext(session, origin, tenant, 'overview');
      const [endpoints, storage] = await Promise.all([
        permissions.endpoints.list
          ? bff.get<{ items: EndpointDto[] }>(origin, session, `${base}/endpoints`).then((r) => r.items)
          : undefined,
        permissions.models.list
          ? bff.getIfAllowed<{ usedBytes: number }>(origin, session, `${base}/storage`)
          : undefined,
      ]);
      sendHtml(
        ctx,
        page(
          pageFrame(dto.displayName ? `${dto.displayName} (${tenant})` : tenant),
          tenantPage({
            tenant: dto,
            endpoints,
            ...(storage ? { storageUsedBytes: storage.usedBytes } : {}),
            mayDelete: permissions.tenantActions.delete,
          }),
        ),
      );
    }),
  );

  router.get(
    '/tenants/:tenant/access',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const { base, permissions, pageFrame } = await tenantContext(session, origin, tenant, 'access');
      const [access, endpoints] = await Promise.all([
        bff.get<AccessDto>(origin, session, `${base}/access`),
        permissions.endpoints.list
          ? bff.get<{ items: EndpointDto[] }>(origin, session, `${base}/endpoints`)
          : Promise.resolve({ items: [] }),
      ]);
      sendHtml(
        ctx,
        page(
          pageFrame('Access'),
          accessPage({
            access,
            endpoints: endpoints.items.map((e) => e.name),
            rights: {
              grant: permissions.access.create,
              revoke: permissions.access.delete,
              manageAdmins: permissions.tenantActions.patch,
            },
          }),
        ),
      );
    }),
  );

  router.get(
    '/tenants/:tenant/models',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const { base, permissions, pageFrame } = await tenantContext(session, origin, tenant, 'models');
      const models = await loadModels(session, origin, base);
      sendHtml(
        ctx,
        page(
          pageFrame('Models'),
          modelsPage({
            tenant,
            models,
            mayUpload: permissions.models.create,
            mayDelete: permissions.models.delete,
            mayDownload: permissions.models.get,
          }),
        ),
      );
    }),
  );

  const loadModels = async (session: Session, origin: string, base: string): Promise<ModelView[]> => {
    const { items } = await bff.get<{ items: ModelView['model'][] }>(origin, session, `${base}/models`);
    return Promise.all(
      items.slice(0, 100).map(async (model) => {
        const modelBase = `${base}/models/${seg(model.name)}/versions`;
        const versions = (
          await bff.get<{ items: Omit<ModelView['versions'][number], 'files'>[] }>(origin, session, modelBase)
        ).items
          .sort((a, b) => b.publishedAt.localeCompare(a.publishedAt))
          .slice(0, 20);
        return {
          model,
          versions: await Promise.all(
            versions.map(async (v) => ({
              ...v,
              files:
                (
                  await bff.getIfAllowed<{ files: ManifestFile[] }>(
                    origin,
                    session,
                    `${modelBase}/${seg(v.version)}`,
                  )
                )?.files ?? [],
            })),
          ),
        };
      }),
    );
  };

  router.get(
    '/tenants/:tenant/endpoints',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const { base, dto, permissions, pageFrame } = await tenantContext(session, origin, tenant, 'endpoints');
      const [endpoints, runtimes, models] = await Promise.all([
        bff.get<{ items: EndpointDto[] }>(origin, session, `${base}/endpoints`),
        bff.get<{ items: RuntimeDto[] }>(origin, session, '/v1/runtimes'),
        permissions.models.list ? loadModels(session, origin, base) : Promise.resolve([]),
      ]);
      sendHtml(
        ctx,
        page(
          pageFrame('Endpoints'),
          endpointsPage({
            tenant,
            endpoints: endpoints.items,
            models: models.map((m) => ({ name: m.model.name, versions: m.versions.map((v) => v.version) })),
            runtimes: runtimes.items,
            mayCreate: permissions.endpoints.create,
            mayUpdate: permissions.endpoints.patch,
            mayDelete: permissions.endpoints.delete,
            ...((dto.status.hosts[0] ?? dto.hostname)
              ? { tenantHost: dto.status.hosts[0] ?? dto.hostname }
              : {}),
          }),
        ),
      );
    }),
  );

  router.get(
    '/tenants/:tenant/certificates',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const { base, permissions, pageFrame } = await tenantContext(session, origin, tenant, 'certificates');
      const certificates = await bff.get<{ items: CertificateDto[] }>(
        origin,
        session,
        `${base}/certificates`,
      );
      sendHtml(
        ctx,
        page(
          pageFrame('Certificates'),
          certificatesPage({
            tenant,
            certificates: certificates.items,
            mayIssue: permissions.certificates.create,
            mayRevoke: permissions.certificates.delete,
            now: new Date(now()),
          }),
        ),
      );
    }),
  );

  router.get(
    '/tenants/:tenant/ca.pem',
    withSession(async (ctx, session, origin) => {
      const tenant = ctx.params['tenant']!;
      const ca = await bff.get<{ certificatePem: string }>(origin, session, `/v1/tenants/${seg(tenant)}/ca`);
      ctx.type = 'application/x-pem-file';
      ctx.set('Content-Disposition', `attachment; filename="${tenant}-ca.pem"`);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = ca.certificatePem;
    }),
  );

  const routes = router.routes();
  return async function consoleMiddleware(ctx: Context, next: Next) {
    if (ctx.path !== '/console' && !ctx.path.startsWith('/console/')) return next();
    ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (ctx.path === '/console') return ctx.redirect('/console/tenants');
    await routes(ctx as never, next);
    if (ctx.body === undefined && ctx.status === 404)
      problemPage(ctx, 404, 'Not found', 'No such console page.');
  };
}

/** What GET /v1/tenants/:tenant/permissions answers. */
interface TenantPermissions {
  tenantActions: { get: boolean; patch: boolean; delete: boolean };
  access: Verbs;
  models: Verbs;
  endpoints: Verbs;
  certificates: Verbs;
}
type Verbs = { list: boolean; get: boolean; create: boolean; patch: boolean; delete: boolean };

/** Only console paths are returned to after login, never another site (open redirect). */
export function safeReturnPath(value: unknown): string {
  const path = typeof value === 'string' ? value : '';
  if (!/^\/console(\/[A-Za-z0-9._~%\-/]*)?$/.test(path) || path.includes('//')) return '/console/tenants';
  return path;
}

function stringParam(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

async function readSmallBody(ctx: Context, limit: number): Promise<string> {
  let text = '';
  for await (const chunk of ctx.req) {
    text += (chunk as Buffer).toString('utf8');
    if (text.length > limit) break;
  }
  return text.slice(0, limit);
}

function readableFrom(body: ReadableStream<Uint8Array>) {
  return Readable.fromWeb(body as never);
}
