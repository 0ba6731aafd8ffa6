/**
 * The console's only script. Pages are rendered by the server; this enhances their forms: each form names the
 * management API route it calls (`data-api="METHOD /v1/..."`), and the script sends its fields as JSON through the
 * console's proxy, which attaches the session's token server-side (the page never sees one). Failures show the
 * API's problem title and detail next to the form, and invalid fields are marked. Model uploads go through the
 * API's resumable multipart sessions, with progress, and can be resumed after a reload.
 */

interface Problem {
  title?: string;
  detail?: string;
  status?: number;
  invalidParams?: { pointer?: string; parameter?: string; reason: string }[];
}

const csrfToken = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
const proxy = (apiPath: string) => `/console/api${apiPath}`;

class ApiFailure extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? 'request failed');
  }
}

async function callApi(method: string, apiPath: string, body?: unknown): Promise<unknown> {
  const response = await fetch(proxy(apiPath), {
    method,
    credentials: 'same-origin',
    headers: {
      'x-csrf-token': csrfToken,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return answer(response);
}

async function answer(response: Response): Promise<unknown> {
  if (response.status === 401) {
    // The session ended: log in again and come back here.
    window.location.assign(`/console/auth/login?return_to=${encodeURIComponent(location.pathname)}`);
    throw new ApiFailure({ title: 'Signed out', detail: 'Your session ended; logging in again…' });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as Problem;
    throw new ApiFailure({
      title: problem.title ?? `HTTP ${response.status}`,
      detail: problem.detail ?? text.slice(0, 200),
      ...(problem.invalidParams ? { invalidParams: problem.invalidParams } : {}),
    });
  }
  return parsed;
}

/** Sets `value` at a JSON pointer (`/quota/cpu`) inside `target`. */
function setPointer(target: Record<string, unknown>, pointer: string, value: unknown): void {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'));
  let node = target;
  parts.forEach((part, index) => {
    if (index === parts.length - 1) node[part] = value;
    else node = (node[part] ??= {}) as Record<string, unknown>;
  });
}

function parseSubjects(text: string): unknown[] {
  return text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      const kind = colon > 0 ? entry.slice(0, colon) : 'Group';
      const rest = colon > 0 ? entry.slice(colon + 1) : entry;
      if (kind === 'ServiceAccount') {
        const [namespace, name] = rest.split('/');
        return { kind, namespace, name };
      }
      return { kind, name: rest };
    });
}

/** Reads a form: `/pointer` fields go into the JSON body, `?name` fields into the query, `#name` stay here. */
function readForm(form: HTMLFormElement): { body?: Record<string, unknown>; query: URLSearchParams } {
  const body: Record<string, unknown> = {};
  const query = new URLSearchParams();
  let hasBody = false;
  for (const element of Array.from(form.elements)) {
    if (!(
      element instanceof HTMLInputElement ||
      element instanceof HTMLSelectElement ||
      element instanceof HTMLTextAreaElement
    ))
      continue;
    const name = element.name;
    if (!name || element.disabled) continue;
    if (element instanceof HTMLInputElement && element.type === 'checkbox') {
      if (name.startsWith('?') && element.checked) query.set(name.slice(1), element.value);
      if (name.startsWith('/')) {
        setPointer(body, name, element.checked);
        hasBody = true;
      }
      continue;
    }
    const raw = element.value.trim();
    if (raw === '') continue;
    if (name.startsWith('?')) query.set(name.slice(1), raw);
    if (!name.startsWith('/')) continue;
    const convert = element.dataset['convert'];
    let value: unknown = raw;
    if (convert === 'number') value = Number(raw);
    if (convert === 'subjects') value = parseSubjects(raw);
    if (convert === 'list')
      value = raw
        .split(/[,\n]/)
        .map((s) => s.trim())
        .filter(Boolean);
    if (convert === 'model-ref') {
      const at = raw.lastIndexOf('@');
      value = { name: raw.slice(0, at), version: raw.slice(at + 1) };
    }
    setPointer(body, name, value);
    hasBody = true;
  }
  return { ...(hasBody ? { body } : {}), query };
}

function clearProblems(form: HTMLFormElement): void {
  const box = form.querySelector<HTMLElement>('.problem');
  if (box) {
    box.hidden = true;
    box.textContent = '';
  }
  for (const marked of Array.from(form.querySelectorAll('[aria-invalid="true"]'))) {
    marked.removeAttribute('aria-invalid');
    const id = marked.getAttribute('data-error-id');
    if (id) document.getElementById(id)?.remove();
  }
}

/** Shows the problem's title and detail in the form's alert box and marks the fields it names. */
function showProblem(form: HTMLFormElement, problem: Problem): void {
  const box = form.querySelector<HTMLElement>('.problem');
  if (box) {
    box.replaceChildren();
    const title = document.createElement('strong');
    title.textContent = problem.title ?? 'Request failed';
    box.append(title);
    if (problem.detail) box.append(document.createTextNode(`: ${problem.detail}`));
    box.hidden = false;
  }
  for (const param of problem.invalidParams ?? []) {
    const name = param.pointer ?? (param.parameter ? `?${param.parameter}` : undefined);
    const target =
      (name && form.querySelector<HTMLElement>(`[name="${CSS.escape(name)}"]`)) ||
      (param.pointer &&
        form.querySelector<HTMLElement>(
          `[name^="${CSS.escape(param.pointer.split('/').slice(0, 2).join('/'))}"]`,
        ));
    if (!target) {
      if (box) box.append(document.createTextNode(` (${param.pointer ?? param.parameter}: ${param.reason})`));
      continue;
    }
    const id = `${target.id || 'field'}-error`;
    const message = document.createElement('p');
    message.className = 'field-error';
    message.id = id;
    message.textContent = param.reason;
    target.setAttribute('aria-invalid', 'true');
    target.setAttribute('data-error-id', id);
    target.setAttribute('aria-describedby', `${target.getAttribute('aria-describedby') ?? ''} ${id}`.trim());
    target.insertAdjacentElement('afterend', message);
  }
}

function afterSuccess(
  form: HTMLFormElement,
  result: unknown,
  values: Record<string, unknown> | undefined,
): void {
  const success = form.dataset['success'] ?? 'reload';
  if (success === 'download-bundle') return downloadBundle(form, result as Record<string, string>);
  if (success.startsWith('go:')) {
    const path = success
      .slice(3)
      .replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(String(values?.[key] ?? '')));
    window.location.assign(path);
    return;
  }
  window.location.reload();
}

/** Saves the issued certificate (and a generated key) as one PEM file, once; nothing of it stays on the page. */
function downloadBundle(form: HTMLFormElement, issued: Record<string, string>): void {
  const parts = [issued['certificatePem'], issued['caCertificatePem'], issued['privateKeyPem']].filter(
    Boolean,
  );
  const blob = new Blob([parts.join('\n')], { type: 'application/x-pem-file' });
  const link = document.createElement('a');
  const name = (form.querySelector<HTMLInputElement>('[name="/commonName"]')?.value || 'client').replace(
    /[^A-Za-z0-9._@-]/g,
    '_',
  );
  link.href = URL.createObjectURL(blob);
  link.download = `${name}-bundle.pem`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
    window.location.reload();
  }, 500);
}

async function submitApiForm(form: HTMLFormElement): Promise<void> {
  const [method, path] = (form.dataset['api'] ?? '').split(' ');
  if (!method || !path) return;
  if (form.dataset['confirm'] && !window.confirm(form.dataset['confirm'])) return;
  clearProblems(form);
  const { body, query } = readForm(form);
  const url = query.size ? `${path}${path.includes('?') ? '&' : '?'}${query.toString()}` : path;
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  if (button) button.disabled = true;
  form.setAttribute('aria-busy', 'true');
  try {
    const result = await callApi(method, url, body);
    afterSuccess(form, result, body);
  } catch (error) {
    showProblem(
      form,
      error instanceof ApiFailure ? error.problem : { title: 'Network error', detail: String(error) },
    );
  } finally {
    if (button) button.disabled = false;
    form.removeAttribute('aria-busy');
  }
}

// ----- model uploads -----

const PART_SIZE = 8 * 1024 * 1024;

interface UploadState {
  apiBase: string;
  model: string;
  version: string;
  uploadId: string;
  fileName: string;
  size: number;
  lastModified: number;
}

const storageKey = (tenant: string) => `tenantmesh.uploads.${tenant}`;

function savedUpload(tenant: string): UploadState | undefined {
  try {
    return JSON.parse(localStorage.getItem(storageKey(tenant)) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
}

function putPart(url: string, blob: Blob, onProgress: (loaded: number) => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('PUT', proxy(url));
    request.setRequestHeader('x-csrf-token', csrfToken);
    request.setRequestHeader('content-type', 'application/octet-stream');
    request.upload.onprogress = (event) => onProgress(event.loaded);
    request.onerror = () =>
      reject(new ApiFailure({ title: 'Network error', detail: 'the part upload was interrupted' }));
    request.onload = () => {
      answer(new Response(request.responseText || null, { status: request.status })).then(resolve, reject);
    };
    request.send(blob);
  });
}

function showProgress(form: HTMLFormElement, done: number, total: number, text?: string): void {
  const box = form.querySelector<HTMLElement>('.upload-progress');
  const bar = form.querySelector<HTMLProgressElement>('progress');
  const label = form.querySelector<HTMLElement>('.upload-text');
  if (!box || !bar || !label) return;
  box.hidden = false;
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  bar.value = percent;
  label.textContent =
    text ?? `${percent}% (${(done / 1048576).toFixed(1)} of ${(total / 1048576).toFixed(1)} MiB)`;
}

async function runUpload(form: HTMLFormElement, file: File, state: UploadState): Promise<void> {
  const tenant = form.dataset['tenant'] ?? '';
  const base = `${state.apiBase}/${encodeURIComponent(state.model)}/versions/${encodeURIComponent(state.version)}/uploads/${encodeURIComponent(state.uploadId)}`;
  const status = (await callApi('GET', base)) as { parts: { partNumber: number; size: number }[] };
  const stored = new Map(status.parts.map((p) => [p.partNumber, p.size]));
  let done = [...stored.values()].reduce((a, b) => a + b, 0);
  showProgress(form, done, file.size);
  for (
    let offset = 0, partNumber = 1;
    offset < file.size || (file.size === 0 && partNumber === 1);
    offset += PART_SIZE, partNumber += 1
  ) {
    const size = Math.min(PART_SIZE, file.size - offset);
    if (stored.get(partNumber) === size) continue;
    await putPart(`${base}/parts/${partNumber}`, file.slice(offset, offset + size), (loaded) =>
      showProgress(form, done + loaded, file.size),
    );
    done += size;
    showProgress(form, done, file.size);
    if (file.size === 0) break;
  }
  await callApi('POST', `${base}/complete`, {});
  localStorage.removeItem(storageKey(tenant));
  showProgress(form, file.size, file.size, `Uploaded ${state.model} ${state.version}.`);
  window.location.reload();
}

async function submitUpload(form: HTMLFormElement): Promise<void> {
  clearProblems(form);
  const tenant = form.dataset['tenant'] ?? '';
  const apiBase = form.dataset['upload'] ?? '';
  const model = (form.elements.namedItem('model') as HTMLInputElement).value.trim();
  const version = (form.elements.namedItem('version') as HTMLInputElement).value.trim();
  const file = (form.elements.namedItem('file') as HTMLInputElement).files?.[0];
  if (!file) return;
  const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    const saved = savedUpload(tenant);
    const resumes =
      saved &&
      saved.model === model &&
      saved.version === version &&
      saved.fileName === file.name &&
      saved.size === file.size &&
      saved.lastModified === file.lastModified;
    let state: UploadState;
    if (resumes && saved) {
      state = saved;
    } else {
      const session = (await callApi(
        'POST',
        `${apiBase}/${encodeURIComponent(model)}/versions/${encodeURIComponent(version)}/uploads`,
        {
          file: file.name,
          size: file.size,
        },
      )) as { uploadId: string };
      state = {
        apiBase,
        model,
        version,
        uploadId: session.uploadId,
        fileName: file.name,
        size: file.size,
        lastModified: file.lastModified,
      };
      localStorage.setItem(storageKey(tenant), JSON.stringify(state));
    }
    await runUpload(form, file, state);
  } catch (error) {
    showProblem(
      form,
      error instanceof ApiFailure ? error.problem : { title: 'Upload failed', detail: String(error) },
    );
    offerResume(form);
  } finally {
    if (button) button.disabled = false;
  }
}

/** After a reload (or a failure), says which upload can be resumed and how far it got. */
function offerResume(form: HTMLFormElement): void {
  const tenant = form.dataset['tenant'] ?? '';
  const saved = savedUpload(tenant);
  const box = form.querySelector<HTMLElement>('.resume');
  if (!saved || !box) return;
  (form.elements.namedItem('model') as HTMLInputElement).value = saved.model;
  (form.elements.namedItem('version') as HTMLInputElement).value = saved.version;
  const base = `${saved.apiBase}/${encodeURIComponent(saved.model)}/versions/${encodeURIComponent(saved.version)}/uploads/${encodeURIComponent(saved.uploadId)}`;
  callApi('GET', base)
    .then((status) => {
      const received = (status as { receivedBytes?: number }).receivedBytes ?? 0;
      showProgress(form, received, saved.size);
      box.textContent = `An upload of ${saved.fileName} (${saved.model} ${saved.version}) stopped at ${Math.floor((received / Math.max(saved.size, 1)) * 100)}%. Choose the same file and press Upload to resume.`;
      box.hidden = false;
    })
    .catch(() => localStorage.removeItem(storageKey(tenant)));
}

document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement)) return;
  if (form.dataset['api']) {
    event.preventDefault();
    void submitApiForm(form);
  } else if (form.dataset['upload']) {
    event.preventDefault();
    void submitUpload(form);
  }
});

for (const form of Array.from(document.querySelectorAll<HTMLFormElement>('form[data-upload]')))
  offerResume(form);
