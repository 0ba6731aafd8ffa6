import type { CertificateDto } from '../../api/presenters.ts';
import { html, seg, type SafeHtml } from '../html.ts';
import { actionButton, apiForm, field, tenantApi } from './components.ts';

/** Client certificates of the tenant CA: list with expiry, issue, revoke. */
export function certificatesPage(input: {
  tenant: string;
  certificates: CertificateDto[];
  mayIssue: boolean;
  mayRevoke: boolean;
  now: Date;
}): SafeHtml {
  const state = (c: CertificateDto) =>
    c.revoked ? 'revoked' : new Date(c.notAfter).getTime() < input.now.getTime() ? 'expired' : 'valid';
  return html`${
      input.certificates.length === 0
        ? html`<p class="empty">No client certificates yet.</p>`
        : html`<table class="list">
            <caption>
              Client certificates of ${input.tenant}
            </caption>
            <thead>
              <tr>
                <th scope="col">Common name</th>
                <th scope="col">Serial</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                <th scope="col"><span class="visually-hidden">Actions</span></th>
              </tr>
            </thead>
            <tbody>
              ${input.certificates.map(
                (c) =>
                  html`<tr>
                    <th scope="row">${c.commonName}</th>
                    <td><code class="wrap">${c.serialNumber}</code></td>
                    <td><time datetime="${c.notAfter}">${c.notAfter.slice(0, 10)}</time></td>
                    <td><span class="badge ${state(c) === 'valid' ? 'ok' : 'bad'}">${state(c)}</span></td>
                    <td>
                      ${input.mayRevoke && !c.revoked ? actionButton({ api: `DELETE ${tenantApi(input.tenant, `/certificates/${seg(c.serialNumber)}`)}`, success: 'reload', label: `Revoke certificate ${c.commonName}`, confirm: `Revoke the certificate of ${c.commonName}? Clients using it are refused from now on.` }, 'Revoke') : ''}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }
    <p>
      <a href="/console/tenants/${seg(input.tenant)}/ca.pem" download="${input.tenant}-ca.pem"
        >Download the tenant CA certificate</a
      >
    </p>
    ${input.mayIssue ? issueForm(input.tenant) : ''}`;
}

function issueForm(tenant: string): SafeHtml {
  return html`<section aria-labelledby="issue">
    <h2 id="issue">Issue a client certificate</h2>
    <p>
      Paste a certificate signing request to keep your private key to yourself, or leave it empty and a key is
      generated for you. The bundle (certificate, CA${' '}and a generated key) is downloaded once and never
      shown again.
    </p>
    ${apiForm(
      {
        api: `POST ${tenantApi(tenant, '/certificates')}`,
        success: 'download-bundle',
        label: 'Issue a client certificate',
      },
      html`<div class="grid">
          ${field({ label: 'Common name', name: '/commonName', required: true, hint: 'Becomes the caller name tenantmesh:client:' + tenant + ':<common name>.' })}
          ${field({ label: 'Validity (days)', name: '/validityDays', type: 'number', convert: 'number' })}
        </div>
        <div class="field">
          <label for="f-csr">Certificate signing request (PEM, optional)</label>
          <textarea id="f-csr" name="/csr" rows="6" spellcheck="false"></textarea>
        </div>`,
      'Issue certificate',
    )}
  </section>`;
}
