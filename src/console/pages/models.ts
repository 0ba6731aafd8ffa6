import type { RegistryRecord } from '../../registry/repository.ts';
import type { ManifestFile, ModelSummary, VersionSummary } from '../../storage/store.ts';
import { html, seg, type SafeHtml } from '../html.ts';
import { NAME_PATTERN, actionButton, field, tenantApi } from './components.ts';
import { bytes } from './tenant.ts';

/** What the API lists: the stored model or version and, where the registry has it, its registry record. */
type Registered<T> = T & { registry?: RegistryRecord };

/** A model with its versions and, per version, its files (for the download links). */
export interface ModelView {
  model: Registered<ModelSummary>;
  versions: Registered<VersionSummary & { files: ManifestFile[] }>[];
}

/** The registry's state of a model or version as a badge: live is the normal case, archived stands out. */
function registryState(record: RegistryRecord | undefined): SafeHtml | string {
  if (!record?.state) return '';
  const archived = record.state === 'ARCHIVED';
  return html`<span class="badge ${archived ? 'unknown' : 'ok'}">${archived ? 'Archived' : 'Live'}</span>`;
}

/** Registered models and versions; upload (resumable, with progress), download and delete where allowed. */
export function modelsPage(input: {
  tenant: string;
  models: ModelView[];
  mayUpload: boolean;
  mayDelete: boolean;
  mayDownload: boolean;
}): SafeHtml {
  return html`${input.mayUpload ? uploadForm(input.tenant) : ''}
  ${
    input.models.length === 0
      ? html`<p class="empty">No models yet.</p>`
      : input.models.map((m) => modelSection(input, m))
  }`;
}

function modelSection(
  input: { tenant: string; mayDelete: boolean; mayDownload: boolean },
  view: ModelView,
): SafeHtml {
  const name = view.model.name;
  return html`<section class="model" aria-labelledby="model-${name}">
    <h2 id="model-${name}">${name} ${registryState(view.model.registry)}</h2>
    ${view.model.registry?.description ? html`<p class="description">${view.model.registry.description}</p>` : ''}
    <table class="list">
      <caption>
        Versions of ${name}
      </caption>
      <thead>
        <tr>
          <th scope="col">Version</th>
          <th scope="col">Published</th>
          <th scope="col">Files</th>
          <th scope="col"><span class="visually-hidden">Actions</span></th>
        </tr>
      </thead>
      <tbody>
        ${view.versions.map((v) => {
          const base = tenantApi(input.tenant, `/models/${seg(name)}/versions/${seg(v.version)}`);
          return html`<tr>
            <th scope="row">${v.version} ${registryState(v.registry)}</th>
            <td><time datetime="${v.publishedAt}">${v.publishedAt.replace('T', ' ').slice(0, 16)}</time></td>
            <td>
              <ul class="files">
                ${v.files.map((f) =>
                  input.mayDownload
                    ? html`<li>
                        <a href="/console/api${base}/files/${seg(f.name)}" download="${f.name}">${f.name}</a>
                        <span class="muted">${bytes(f.size)}</span>
                      </li>`
                    : html`<li>${f.name} <span class="muted">${bytes(f.size)}</span></li>`,
                )}
              </ul>
            </td>
            <td>
              ${input.mayDelete ? actionButton({ api: `DELETE ${base}`, success: 'reload', label: `Delete ${name} version ${v.version}`, confirm: `Delete version ${v.version} of ${name}? Endpoints serving it keep the version from being deleted.` }, 'Delete') : ''}
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
  </section>`;
}

/**
 * The upload form. The script uploads through the API's resumable multipart sessions, shows progress, and keeps
 * the session id (never a token) in the browser's storage so a reloaded page offers to resume.
 */
function uploadForm(tenant: string): SafeHtml {
  return html`<section aria-labelledby="upload">
    <h2 id="upload">Upload a model version</h2>
    <form
      class="card-form"
      data-upload="${tenantApi(tenant, '/models')}"
      data-tenant="${tenant}"
      aria-label="Upload a model version"
    >
      <div class="grid">
        ${field({ label: 'Model', name: 'model', required: true, pattern: NAME_PATTERN })}
        ${field({ label: 'Version', name: 'version', required: true, pattern: NAME_PATTERN })}
        <div class="field">
          <label for="f-file">File</label><input id="f-file" name="file" type="file" required />
        </div>
      </div>
      <div class="upload-progress" hidden>
        <label for="upload-bar">Upload progress</label>
        <progress id="upload-bar" max="100" value="0"></progress>
        <span class="upload-text" aria-live="polite"></span>
      </div>
      <div class="resume" hidden role="status"></div>
      <div class="problem" role="alert" hidden></div>
      <button type="submit">Upload</button>
    </form>
  </section>`;
}
