import type { TenantDto } from '../../api/presenters.ts';
import { html, type SafeHtml } from '../html.ts';
import { DNS_LABEL_PATTERN, apiForm, field, statusBadge, tenantPath } from './components.ts';

/** The tenants the user may see, and the create form when they may create tenants. */
export function tenantsPage(input: { tenants: TenantDto[]; mayCreate: boolean }): SafeHtml {
  const list =
    input.tenants.length === 0
      ? html`<p class="empty">
          You have no tenants to
          see.${input.mayCreate ? ' Create the first one below.' : ' Ask a platform admin to add you to one.'}
        </p>`
      : html`<table class="list">
          <caption>
            Tenants you may see
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Display name</th>
              <th scope="col">Status</th>
              <th scope="col">Host</th>
            </tr>
          </thead>
          <tbody>
            ${input.tenants.map(
              (t) =>
                html`<tr>
                  <th scope="row"><a href="${tenantPath(t.name)}">${t.name}</a></th>
                  <td>${t.displayName ?? ''}</td>
                  <td>${t.deleting ? statusBadge('Unknown', 'Deleting') : statusBadge(t.status.ready)}</td>
                  <td>${t.status.hosts[0] ?? t.hostname ?? ''}</td>
                </tr>`,
            )}
          </tbody>
        </table>`;
  return html`${list} ${input.mayCreate ? createTenantForm() : ''}`;
}

function createTenantForm(): SafeHtml {
  return html`<section aria-labelledby="create-tenant">
    <h2 id="create-tenant">Create a tenant</h2>
    ${apiForm(
      { api: 'POST /v1/tenants', success: 'go:/console/tenants/{name}', label: 'Create a tenant' },
      html`<div class="grid">
          ${field({ label: 'Name', name: '/name', required: true, pattern: DNS_LABEL_PATTERN, hint: 'A DNS label: lowercase letters, digits and "-", 3 to 40 characters.' })}
          ${field({ label: 'Display name', name: '/displayName' })}
          ${field({ label: 'Hostname', name: '/hostname', placeholder: 'acme.models.example.com', hint: 'Where its endpoints are reached; the platform domain decides when empty.' })}
          ${field({ label: 'Admins', name: '/admins', convert: 'subjects', placeholder: 'Group:acme-admins, User:ann@example.com', hint: 'Comma-separated Kind:name (Group, User, or ServiceAccount:namespace/name).' })}
        </div>
        <fieldset>
          <legend>Quota</legend>
          <div class="grid">
            ${field({ label: 'Endpoints', name: '/quota/maxEndpoints', type: 'number', convert: 'number' })}
            ${field({ label: 'CPU', name: '/quota/cpu', placeholder: '8' })}
            ${field({ label: 'Memory', name: '/quota/memory', placeholder: '32Gi' })}
            ${field({ label: 'Storage (bytes)', name: '/quota/storageBytes', type: 'number', convert: 'number' })}
          </div>
        </fieldset>`,
      'Create tenant',
    )}
  </section>`;
}
