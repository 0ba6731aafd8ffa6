import { html, type SafeHtml } from '../html.ts';
import type { SessionUser } from '../session.ts';
import { tenantPath } from './components.ts';

/** The hashed asset URLs of the build (see src/console/assets.ts). */
export interface AssetUrls {
  script: string;
  style: string;
}

/** What every page of a signed-in user shows around its content. */
export interface PageFrame {
  title: string;
  user: SessionUser;
  csrfToken: string;
  assets: AssetUrls;
  /** The tenant the page belongs to, with the tabs the user may open. */
  tenant?: { name: string; tabs: TenantTab[]; current: TenantTab | 'overview' };
  /** Breadcrumb trail, last entry the current page. */
  breadcrumbs?: { text: string; href?: string }[];
}

export type TenantTab = 'access' | 'models' | 'endpoints' | 'certificates';

const tabNames: Record<TenantTab | 'overview', string> = {
  overview: 'Overview',
  access: 'Access',
  models: 'Models',
  endpoints: 'Endpoints',
  certificates: 'Certificates',
};

/** The document shell: one stylesheet, one script, both from the API process, nothing inline. */
export function documentShell(input: {
  title: string;
  assets: AssetUrls;
  csrfToken?: string;
  body: SafeHtml;
}): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        ${input.csrfToken ? html`<meta name="csrf-token" content="${input.csrfToken}" />` : ''}
        <title>${input.title} · tenantmesh</title>
        <link rel="stylesheet" href="${input.assets.style}" />
        <script type="module" src="${input.assets.script}"></script>
      </head>
      <body>
        ${input.body}
      </body>
    </html> `;
}

/** A signed-in page: header with navigation and the user, the tenant tabs when inside a tenant, the content. */
export function page(frame: PageFrame, content: SafeHtml): SafeHtml {
  const tenant = frame.tenant;
  const body = html`<a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/console/tenants">tenantmesh</a>
      <nav aria-label="Main">
        <a href="/console/tenants" ${!tenant ? html` aria-current="page"` : ''}>Tenants</a>
      </nav>
      <div class="who">
        <span class="user" title="${frame.user.email}">${frame.user.name || frame.user.email}</span>
        <form method="post" action="/console/auth/logout" class="logout">
          <input type="hidden" name="csrf" value="${frame.csrfToken}" />
          <button type="submit" class="secondary">Log out</button>
        </form>
      </div>
    </header>
    ${frame.breadcrumbs ? breadcrumbs(frame.breadcrumbs) : ''} ${tenant ? tenantTabs(tenant) : ''}
    <main id="main" tabindex="-1">
      <h1>${frame.title}</h1>
      ${content}
    </main>`;
  return documentShell({ title: frame.title, assets: frame.assets, csrfToken: frame.csrfToken, body });
}

function breadcrumbs(trail: { text: string; href?: string }[]): SafeHtml {
  return html`<nav aria-label="Breadcrumb" class="crumbs">
    <ol>
      ${trail.map((c, i) =>
        c.href && i < trail.length - 1
          ? html`<li><a href="${c.href}">${c.text}</a></li>`
          : html`<li aria-current="page">${c.text}</li>`,
      )}
    </ol>
  </nav>`;
}

function tenantTabs(tenant: NonNullable<PageFrame['tenant']>): SafeHtml {
  const tabs: (TenantTab | 'overview')[] = ['overview', ...tenant.tabs];
  return html`<nav aria-label="Tenant ${tenant.name}" class="tabs">
    <ul>
      ${tabs.map(
        (tab) =>
          html`<li>
            <a
              href="${tenantPath(tenant.name, tab === 'overview' ? undefined : tab)}"
              ${tab === tenant.current ? html` aria-current="page"` : ''}
              >${tabNames[tab]}</a
            >
          </li>`,
      )}
    </ul>
  </nav>`;
}

/** A page for someone not signed in or a failure before the frame can be drawn (no user data). */
export function plainPage(input: { title: string; assets: AssetUrls; message: SafeHtml }): SafeHtml {
  return documentShell({
    title: input.title,
    assets: input.assets,
    body: html`<main id="main" class="plain">
      <h1>${input.title}</h1>
      ${input.message}
    </main>`,
  });
}
