import type { EndpointDto, RuntimeDto } from '../../api/presenters.ts';
import { html, seg, type SafeHtml } from '../html.ts';
import {
  DNS_LABEL_PATTERN,
  actionButton,
  apiForm,
  conditionsTable,
  field,
  select,
  statusBadge,
  tenantApi,
} from './components.ts';

/** What the endpoints page needs: the endpoints, what they can be created from, and the user's rights. */
export interface EndpointsView {
  tenant: string;
  endpoints: EndpointDto[];
  /** Model name → versions (newest first), when the user may list models. */
  models: { name: string; versions: string[] }[];
  runtimes: RuntimeDto[];
  mayCreate: boolean;
  mayUpdate: boolean;
  mayDelete: boolean;
  /** The tenant's hostname for the "how to call it" section (from its status). */
  tenantHost?: string;
}

/**
 * Hook for environments with a kubelet (the e2e project): endpoints become Ready there, and the page shows the
 * served version and ready replicas the status reports. Nothing here depends on it.
 */
export function endpointsPage(view: EndpointsView): SafeHtml {
  return html`${
    view.endpoints.length === 0
      ? html`<p class="empty">No endpoints yet.</p>`
      : view.endpoints.map((e) => endpointSection(view, e))
  }
  ${view.mayCreate ? createForm(view) : ''}`;
}

function endpointSection(view: EndpointsView, e: EndpointDto): SafeHtml {
  const api = tenantApi(view.tenant, `/endpoints/${seg(e.name)}`);
  const versions = view.models.find((m) => m.name === e.model.name)?.versions ?? [];
  const host = e.status.url
    ? new URL(e.status.url).host
    : view.tenantHost
      ? `${e.name}.${view.tenantHost}`
      : undefined;
  return html`<section class="endpoint" aria-labelledby="endpoint-${e.name}">
    <h2 id="endpoint-${e.name}">
      ${e.name} ${e.deleting ? statusBadge('Unknown', 'Deleting') : statusBadge(e.status.ready)}
    </h2>
    <dl class="facts">
      <dt>Model</dt>
      <dd>
        ${e.model.name}
        <code>${e.model.version}</code
        >${e.status.servedModelVersion ? html` (serving <code>${e.status.servedModelVersion}</code>)` : ''}
      </dd>
      <dt>Runtime</dt>
      <dd>${e.runtime}</dd>
      <dt>Replicas</dt>
      <dd>${e.status.readyReplicas} of ${e.replicas} ready</dd>
      ${
        e.status.url
          ? html`<dt>URL</dt>
              <dd><code class="wrap">${e.status.url}</code></dd>`
          : ''
      }
    </dl>
    ${conditionsTable(e.status.conditions, `Conditions of endpoint ${e.name}`)}
    ${
      view.mayUpdate && !e.deleting
        ? html`<div class="row">
            ${apiForm({ api: `PATCH ${api}/replicas`, success: 'reload', label: `Scale ${e.name}`, className: 'inline-form' }, field({ label: 'Replicas', name: '/replicas', type: 'number', convert: 'number', value: String(e.replicas), required: true, scope: e.name }), 'Scale')}
            ${versions.length ? apiForm({ api: `PATCH ${api}`, success: 'reload', label: `Switch the version of ${e.name}`, className: 'inline-form' }, html`${select({ label: 'Model version', name: '/model/version', options: versions.map((v) => ({ value: v, text: v })), scope: e.name })}<input type="hidden" name="/model/name" value="${e.model.name}" />`, 'Switch version') : ''}
          </div>`
        : ''
    }
    ${host ? howToCall(view.tenant, e, host) : ''}
    ${view.mayDelete && !e.deleting ? actionButton({ api: `DELETE ${api}`, success: 'reload', label: `Delete endpoint ${e.name}`, confirm: `Delete endpoint ${e.name}? Clients calling it are refused from now on.` }, 'Delete endpoint') : ''}
  </section>`;
}

function howToCall(tenant: string, e: EndpointDto, host: string): SafeHtml {
  const infer = `tenantmesh infer --address ${host}:443 --authority ${host} --ca ${tenant}-ca.pem --cert client.crt --key client.key kserve infer --model ${e.model.name} --data 1,2,3,4 --shape 1,4`;
  const grpcurl = `grpcurl -cacert ${tenant}-ca.pem -cert client.crt -key client.key -authority ${host} -d '{"name":"${e.model.name}"}' ${host}:443 inference.GRPCInferenceService/ModelMetadata`;
  return html`<details class="call">
    <summary>How to call ${e.name}</summary>
    <dl class="facts">
      <dt>Host</dt>
      <dd><code>${host}</code></dd>
      <dt>CA bundle</dt>
      <dd>
        <a href="/console/tenants/${seg(tenant)}/ca.pem" download="${tenant}-ca.pem">${tenant}-ca.pem</a>
      </dd>
      <dt>Client certificate</dt>
      <dd>Issue one on the Certificates page, or send a bearer token instead.</dd>
    </dl>
    <p>With the tenantmesh CLI:</p>
    <pre><code>${infer}</code></pre>
    <p>With grpcurl:</p>
    <pre><code>${grpcurl}</code></pre>
  </details>`;
}

function createForm(view: EndpointsView): SafeHtml {
  const versions = view.models.flatMap((m) =>
    m.versions.map((v) => ({ value: `${m.name}@${v}`, text: `${m.name} ${v}` })),
  );
  if (versions.length === 0) {
    return html`<section aria-labelledby="create-endpoint">
      <h2 id="create-endpoint">Create an endpoint</h2>
      <p class="muted">Upload a model version first.</p>
    </section>`;
  }
  return html`<section aria-labelledby="create-endpoint">
    <h2 id="create-endpoint">Create an endpoint</h2>
    ${apiForm(
      { api: `POST ${tenantApi(view.tenant, '/endpoints')}`, success: 'reload', label: 'Create an endpoint' },
      html`<div class="grid">
        ${field({ label: 'Name', name: '/name', required: true, pattern: DNS_LABEL_PATTERN })}
        ${select({ label: 'Model version', name: '/model', options: versions, convert: 'model-ref' })}
        ${select({ label: 'Runtime', name: '/runtime', options: view.runtimes.map((r) => ({ value: r.name, text: r.displayName ?? r.name })) })}
        ${field({ label: 'Replicas', name: '/replicas', type: 'number', convert: 'number', value: '1' })}
      </div>`,
      'Create endpoint',
    )}
  </section>`;
}
