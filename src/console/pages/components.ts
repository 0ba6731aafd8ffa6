import type { Subject } from '../../domain/index.ts';
import { html, seg, type SafeHtml } from '../html.ts';

/** How a JSON form of the console talks to the API (see src/console/client/main.ts for the other half). */
export interface ApiFormOptions {
  /** `METHOD /v1/...`: the management API route the form calls (through the console's proxy). */
  api: string;
  /** What happens after success: reload the page, go to a console path, or download the issued bundle. */
  success: 'reload' | `go:${string}` | 'download-bundle';
  /** Accessible name of the form. */
  label: string;
  /** Asks for confirmation first (a native dialog). */
  confirm?: string;
  className?: string;
}

/**
 * Input patterns: browsers compile `pattern` with the `v` flag, where a "-" inside a class must be escaped.
 */
export const DNS_LABEL_PATTERN = '[a-z0-9](?:[a-z0-9\\-]*[a-z0-9])?';
export const NAME_PATTERN = '[A-Za-z0-9][A-Za-z0-9._\\-]*';

/** A form whose fields are sent as JSON to an API route; its problem box shows the API's answer when it fails. */
export function apiForm(options: ApiFormOptions, fields: SafeHtml, submit: string): SafeHtml {
  return html`<form
    class="${options.className ?? 'card-form'}"
    data-api="${options.api}"
    data-success="${options.success}"
    aria-label="${options.label}"
    ${options.confirm ? html` data-confirm="${options.confirm}"` : ''}
  >
    ${fields}
    <div class="problem" role="alert" hidden></div>
    <button type="submit">${submit}</button>
  </form>`;
}

/** A one-button form (revoke, delete, …) calling one API route. */
export function actionButton(
  options: Omit<ApiFormOptions, 'className'>,
  text: string,
  danger = true,
): SafeHtml {
  return html`<form
    class="inline-action"
    data-api="${options.api}"
    data-success="${options.success}"
    aria-label="${options.label}"
    ${options.confirm ? html` data-confirm="${options.confirm}"` : ''}
  >
    <button type="submit" class="${danger ? 'danger' : 'secondary'}">${text}</button>
    <div class="problem" role="alert" hidden></div>
  </form>`;
}

/** A labelled input; `name` is the JSON pointer the value goes to (`/quota/cpu`) or `?param` for a query. */
export function field(input: {
  label: string;
  name: string;
  type?: 'text' | 'number' | 'password' | 'checkbox';
  value?: string;
  required?: boolean;
  placeholder?: string;
  hint?: string;
  pattern?: string;
  /** How the client converts the value: a number, a list of subjects (`Group:x, User:y`), a list of strings. */
  convert?: 'number' | 'subjects' | 'list';
  /** Keeps ids unique when a page repeats a form (one per endpoint, say). */
  scope?: string;
}): SafeHtml {
  const id = fieldId(input.name, input.scope);
  const hintId = input.hint ? `${id}-hint` : undefined;
  return html`<div class="field${input.type === 'checkbox' ? ' check' : ''}">
    <label for="${id}">${input.label}</label>
    <input
      id="${id}"
      name="${input.name}"
      type="${input.type ?? 'text'}"
      ${input.value !== undefined ? html` value="${input.value}"` : ''}${input.required ? html` required` : ''}${input.placeholder ? html` placeholder="${input.placeholder}"` : ''}${input.pattern ? html` pattern="${input.pattern}"` : ''}${input.convert ? html` data-convert="${input.convert}"` : ''}${hintId ? html` aria-describedby="${hintId}"` : ''}
    />
    ${input.hint ? html`<p class="hint" id="${hintId}">${input.hint}</p>` : ''}
  </div>`;
}

/** A labelled select. */
export function select(input: {
  label: string;
  name: string;
  options: { value: string; text: string }[];
  required?: boolean;
  /** `model-ref`: the value `name@version` becomes `{name, version}`. */
  convert?: 'model-ref';
  scope?: string;
}): SafeHtml {
  const id = fieldId(input.name, input.scope);
  return html`<div class="field">
    <label for="${id}">${input.label}</label>
    <select
      id="${id}"
      name="${input.name}"
      ${input.required ? html` required` : ''}${input.convert ? html` data-convert="${input.convert}"` : ''}
    >
      ${input.options.map((o) => html`<option value="${o.value}">${o.text}</option>`)}
    </select>
  </div>`;
}

function fieldId(name: string, scope?: string): string {
  return `f-${scope ? `${scope}-` : ''}${name.replace(/[^a-zA-Z0-9]+/g, '-')}`;
}

/** How a subject reads to a person; the group every signed-in user belongs to gets its meaning spelled out. */
export function subjectLabel(subject: Subject): string {
  if (subject.kind === 'Group' && subject.name === 'system:authenticated') return 'every signed-in user';
  if (subject.kind === 'ServiceAccount') return `ServiceAccount ${subject.namespace ?? ''}/${subject.name}`;
  return `${subject.kind} ${subject.name}`;
}

/** A status badge for a condition status. */
export function statusBadge(status: 'True' | 'False' | 'Unknown', text?: string): SafeHtml {
  const tone = status === 'True' ? 'ok' : status === 'False' ? 'bad' : 'unknown';
  const label = text ?? (status === 'True' ? 'Ready' : status === 'False' ? 'Not ready' : 'Pending');
  return html`<span class="badge ${tone}">${label}</span>`;
}

/** A conditions table. */
export function conditionsTable(
  conditions: { type: string; status: string; reason: string; message: string; lastTransitionTime: string }[],
  caption: string,
): SafeHtml {
  if (conditions.length === 0) return html`<p class="muted">No conditions reported yet.</p>`;
  return html`<table>
    <caption>
      ${caption}
    </caption>
    <thead>
      <tr>
        <th scope="col">Type</th>
        <th scope="col">Status</th>
        <th scope="col">Reason</th>
        <th scope="col">Message</th>
        <th scope="col">Since</th>
      </tr>
    </thead>
    <tbody>
      ${conditions.map(
        (c) =>
          html`<tr>
            <th scope="row">${c.type}</th>
            <td>${c.status}</td>
            <td>${c.reason}</td>
            <td>${c.message}</td>
            <td>
              <time datetime="${c.lastTransitionTime}"
                >${c.lastTransitionTime.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}</time
              >
            </td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

/** The console path of a tenant page. */
export function tenantPath(
  tenant: string,
  page?: 'access' | 'models' | 'endpoints' | 'certificates',
): string {
  return `/console/tenants/${seg(tenant)}${page ? `/${page}` : ''}`;
}

/** The API path of something inside a tenant. */
export function tenantApi(tenant: string, rest = ''): string {
  return `/v1/tenants/${seg(tenant)}${rest}`;
}
