import { Discovery, type ApiGroupInfo, type ResourceMapping } from './discovery.ts';
import { KubeError, isGone, isNotFound, toKubeError } from './errors.ts';
import { KubeHttp, type QueryParams } from './http.ts';
import { connectionFromKubeconfig, defaultConnection, type KubeConnection } from './kubeconfig.ts';
import type { ListWatchSource, WatchHandle, WatchHandlers } from './informer.ts';
import type { KubeList, KubeObject, WatchEvent } from './types.ts';

/** How the apiserver treats fields it does not know (`Strict` rejects them with 422 Invalid). */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

/** Options of a server-side apply. */
export interface ApplyOptions {
  /** The field manager that owns what this apply sets: `tenantmesh-operator` or `tenantmesh-api`. */
  fieldManager: string;
  /** Take ownership of fields another manager set (default true: the controller is the authority). */
  force?: boolean;
  /** Default `Strict`, so a typo in a rendered object is an error instead of a silently dropped field. */
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
}

/** Options of a create or replace. */
export interface WriteOptions {
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  dryRun?: boolean;
}

/** Options of a delete. */
export interface DeleteOptions {
  /** Delete only if the object still has this resourceVersion / uid (409 Conflict otherwise). */
  preconditions?: { resourceVersion?: string; uid?: string };
  propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
  gracePeriodSeconds?: number;
}

/** Selects the objects of a list or watch. */
export interface ListOptions {
  /** Omit for cluster-scoped kinds, or to list a namespaced kind across all namespaces. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /**
   * Only each object's metadata (the apiserver's PartialObjectMetadata), with apiVersion and kind filled in as
   * for full objects: enough to see that something changed, at a fraction of the bytes to encode and parse.
   */
  metadataOnly?: boolean;
}

/** Options of a raw watch stream. */
export interface WatchOptions extends ListOptions {
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** Server-side timeout; the server ends the stream cleanly after it. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Options of a patch. */
export interface PatchOptions {
  fieldManager?: string;
  /** Patch a subresource, e.g. `status`. */
  subresource?: string;
}

/** One RFC 6902 JSON patch operation. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** The identity of a user as the apiserver sees it (TokenReview and SelfSubjectReview answers). */
export interface UserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The `status` of a TokenReview. */
export interface TokenReviewStatus {
  authenticated?: boolean;
  user?: UserInfo;
  audiences?: string[];
  error?: string;
}

/** A resource request to authorize, as in SubjectAccessReview `resourceAttributes`. */
export interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** A non-resource request to authorize (e.g. `/healthz`). */
export interface NonResourceAttributes {
  path?: string;
  verb?: string;
}

/** The `spec` of a SubjectAccessReview: who, and what they want to do. */
export interface SubjectAccessReviewSpec {
  user?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
  uid?: string;
  resourceAttributes?: ResourceAttributes;
  nonResourceAttributes?: NonResourceAttributes;
}

/** The `status` of a SubjectAccessReview. */
export interface SubjectAccessReviewStatus {
  allowed: boolean;
  denied?: boolean;
  reason?: string;
  evaluationError?: string;
}

/**
 * Everything tenantmesh does with the Kubernetes API, in plain JSON. This facade is the only door to the
 * client library (architecture.md): reconcilers, the API and auth depend on this interface, and their
 * unit tests can implement it in a few lines. Every method throws {@link KubeError}; none turns an error
 * into `undefined` except `get` for a missing object, which is an answer, not a failure.
 */
export interface Kube {
  /**
   * Server-side apply of a whole object (PATCH `application/apply-patch+yaml`). The object is sent as
   * given (never mutated; `managedFields` and `resourceVersion` are left out so apply is unconditional).
   */
  applyObject<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<Applied<T>>;
  /**
   * Server-side apply of only `{apiVersion, kind, metadata{name,namespace}, status}` to the `status`
   * subresource, so the status writer never touches spec fields and vice versa.
   */
  applyStatus<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<Applied<T>>;
  /** Reads one object; `undefined` when it does not exist. */
  get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined>;
  /** Lists objects (all pages), returning the collection resourceVersion a watch can continue from. */
  list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options?: ListOptions,
  ): Promise<KubeList<T>>;
  /** Creates an object; 409 AlreadyExists when it exists. */
  create<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<Applied<T>>;
  /** Replaces an object; with `metadata.resourceVersion` set this is an optimistic-concurrency update (409). */
  replace<T extends KubeObject>(obj: T, options?: WriteOptions): Promise<Applied<T>>;
  /** Deletes an object; resolves false when it was already gone. */
  delete(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
    options?: DeleteOptions,
  ): Promise<boolean>;
  /** RFC 7386 merge patch; a `metadata.resourceVersion` in the patch makes it conditional (409 on mismatch). */
  patchMerge<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    patch: Record<string, unknown>,
    options?: PatchOptions,
  ): Promise<T>;
  /** RFC 6902 JSON patch (use a `test` operation for preconditions). */
  patchJson<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    operations: JsonPatchOperation[],
    options?: PatchOptions,
  ): Promise<T>;
  /**
   * Removes one finalizer, conditional on the object's resourceVersion, so a finalizer another controller
   * added meanwhile is never dropped (409 Conflict instead: re-read and retry). Returns the object unchanged
   * when the finalizer is not there, and `undefined` when the object is already gone.
   */
  removeFinalizer<T extends KubeObject>(obj: T, finalizer: string): Promise<T | undefined>;
  /** Asks the apiserver who a bearer token belongs to. */
  createTokenReview(token: string, audiences?: string[]): Promise<TokenReviewStatus>;
  /** Asks the apiserver whether a user may do something, so Kubernetes RBAC decides. */
  createSubjectAccessReview(spec: SubjectAccessReviewSpec): Promise<SubjectAccessReviewStatus>;
  /** Who this client is authenticated as. */
  createSelfSubjectReview(): Promise<UserInfo>;
  /** The API groups and versions served now (feature detection of Istio, Authorino, OpenShift). */
  serverGroups(): Promise<ApiGroupInfo[]>;
  /** The REST mapping of a kind; throws `NoKindMatch` when it is not served. */
  resourceFor(apiVersion: string, kind: string): Promise<ResourceMapping>;
  /** A raw watch stream; ends when the server closes it or `signal` aborts. */
  watch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options?: WatchOptions,
  ): AsyncIterable<WatchEvent<T>>;
  /** A list+watch source for {@link Informer}. */
  listWatch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options?: ListOptions & { watchTimeoutSeconds?: number },
  ): ListWatchSource<T>;
}

/**
 * What a write returns: the caller's type, plus the server-filled metadata (uid, resourceVersion, …) that a
 * literal input type would otherwise hide.
 */
export type Applied<T extends KubeObject> = T & KubeObject;

/** Where to find the cluster: a kubeconfig file, its YAML text, or the defaults (KUBECONFIG, in-cluster). */
export interface KubeConnectionOptions {
  kubeconfigPath?: string;
  kubeconfigYaml?: string;
  /** Authenticate with this bearer token instead of the kubeconfig's user (e.g. a ServiceAccount token). */
  token?: string;
  /** The kubeconfig context to use instead of its current-context. */
  context?: string;
}

/** The value `fieldManager` defaults to for non-apply writes that do not name one. */
const defaultWriteManager = 'tenantmesh';

/** Media types asking the apiserver for metadata only (what client-go's metadata informers send). */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/**
 * Resolves the connection the way {@link createKube} does: the kubeconfig text or file given, else
 * $KUBECONFIG, ~/.kube/config or the pod's ServiceAccount; its current-context unless `context` names one.
 */
export function loadKubeConfig(options: KubeConnectionOptions = {}): KubeConnection {
  const connection =
    options.kubeconfigYaml !== undefined
      ? connectionFromKubeconfig({ yaml: options.kubeconfigYaml }, options.context)
      : options.kubeconfigPath !== undefined
        ? connectionFromKubeconfig({ path: options.kubeconfigPath }, options.context)
        : defaultConnection(options.context);
  if (options.token === undefined) return connection;
  // A user with only the token: client certificates of the kubeconfig user would otherwise win.
  const { cert: _cert, key: _key, ...serverTls } = connection.tls;
  return { ...connection, tls: serverTls, credentials: { kind: 'token', token: options.token } };
}

/** Creates the facade over one connection. Cheap enough to create per identity; share it otherwise. */
export function createKube(options: KubeConnectionOptions = {}): Kube {
  return new KubeClient(new KubeHttp(loadKubeConfig(options)));
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function requireName(obj: KubeObject): string {
  const name = obj.metadata?.name;
  if (!name)
    throw new KubeError({
      code: 0,
      reason: 'Invalid',
      message: `${obj.kind} has no metadata.name`,
      retryable: false,
    });
  return name;
}

class KubeClient implements Kube {
  private readonly discovery: Discovery;

  constructor(private readonly http: KubeHttp) {
    this.discovery = new Discovery(http);
  }

  private async collectionPath(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
  ): Promise<string> {
    const mapping = await this.discovery.resolve(apiVersion, kind);
    const base = groupVersionPath(apiVersion);
    if (mapping.namespaced && namespace) {
      return `${base}/namespaces/${encodeURIComponent(namespace)}/${mapping.resource}`;
    }
    return `${base}/${mapping.resource}`;
  }

  private async objectPath(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    subresource?: string,
  ): Promise<string> {
    const mapping = await this.discovery.resolve(apiVersion, kind);
    if (mapping.namespaced && !namespace) {
      throw new KubeError({
        code: 0,
        reason: 'Invalid',
        message: `${kind} ${name} is namespaced but no namespace was given`,
        retryable: false,
      });
    }
    const collection = await this.collectionPath(apiVersion, kind, namespace);
    const path = `${collection}/${encodeURIComponent(name)}`;
    return subresource ? `${path}/${subresource}` : path;
  }

  private pathOf(obj: KubeObject, subresource?: string): Promise<string> {
    return this.objectPath(obj.apiVersion, obj.kind, requireName(obj), obj.metadata.namespace, subresource);
  }

  async applyObject<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<Applied<T>> {
    const { managedFields: _managedFields, resourceVersion: _resourceVersion, ...metadata } = obj.metadata;
    return this.apply<T>({ ...obj, metadata }, await this.pathOf(obj), options);
  }

  async applyStatus<T extends KubeObject>(obj: T, options: ApplyOptions): Promise<Applied<T>> {
    const metadata: { name: string; namespace?: string } = { name: requireName(obj) };
    if (obj.metadata.namespace) metadata.namespace = obj.metadata.namespace;
    const body = { apiVersion: obj.apiVersion, kind: obj.kind, metadata, status: obj['status'] };
    return this.apply<T>(body, await this.pathOf(obj, 'status'), options);
  }

  private apply<T>(body: unknown, path: string, options: ApplyOptions): Promise<T> {
    return this.http.json<T>({
      method: 'PATCH',
      path,
      // JSON is YAML, and apply-patch+yaml is the content type server-side apply is registered under.
      contentType: 'application/apply-patch+yaml',
      body,
      query: {
        fieldManager: options.fieldManager,
        force: options.force ?? true,
        fieldValidation: options.fieldValidation ?? 'Strict',
        dryRun: options.dryRun ? 'All' : undefined,
      },
    });
  }

  async get<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
  ): Promise<T | undefined> {
    const path = await this.objectPath(apiVersion, kind, name, namespace);
    try {
      return await this.http.json<T>({ method: 'GET', path });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const path = await this.collectionPath(apiVersion, kind, options.namespace);
    const items: T[] = [];
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await this.http.json<{
        items: T[] | null;
        metadata: { resourceVersion?: string; continue?: string };
      }>({
        method: 'GET',
        path,
        ...(options.metadataOnly ? { accept: METADATA_ONLY_LIST } : {}),
        query: {
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: 500,
          continue: continueToken,
        },
      });
      // List items omit apiVersion/kind; fill them in so every object handed out is self-describing.
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    return { items, resourceVersion };
  }

  async create<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<Applied<T>> {
    const path = await this.collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace);
    return this.http.json<T>({ method: 'POST', path, body: obj, query: writeQuery(options) });
  }

  async replace<T extends KubeObject>(obj: T, options: WriteOptions = {}): Promise<Applied<T>> {
    return this.http.json<T>({
      method: 'PUT',
      path: await this.pathOf(obj),
      body: obj,
      query: writeQuery(options),
    });
  }

  async delete(
    apiVersion: string,
    kind: string,
    name: string,
    namespace?: string,
    options: DeleteOptions = {},
  ): Promise<boolean> {
    const path = await this.objectPath(apiVersion, kind, name, namespace);
    const body: Record<string, unknown> = { apiVersion: 'v1', kind: 'DeleteOptions' };
    if (options.preconditions) body['preconditions'] = options.preconditions;
    if (options.propagationPolicy) body['propagationPolicy'] = options.propagationPolicy;
    if (options.gracePeriodSeconds !== undefined) body['gracePeriodSeconds'] = options.gracePeriodSeconds;
    try {
      await this.http.json({ method: 'DELETE', path, body });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async patchMerge<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    patch: Record<string, unknown>,
    options: PatchOptions = {},
  ): Promise<T> {
    const path = await this.objectPath(apiVersion, kind, name, namespace, options.subresource);
    return this.http.json<T>({
      method: 'PATCH',
      path,
      contentType: 'application/merge-patch+json',
      body: patch,
      query: { fieldManager: options.fieldManager ?? defaultWriteManager },
    });
  }

  async patchJson<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    name: string,
    namespace: string | undefined,
    operations: JsonPatchOperation[],
    options: PatchOptions = {},
  ): Promise<T> {
    const path = await this.objectPath(apiVersion, kind, name, namespace, options.subresource);
    return this.http.json<T>({
      method: 'PATCH',
      path,
      contentType: 'application/json-patch+json',
      body: operations,
      query: { fieldManager: options.fieldManager ?? defaultWriteManager },
    });
  }

  async removeFinalizer<T extends KubeObject>(obj: T, finalizer: string): Promise<T | undefined> {
    const finalizers = obj.metadata.finalizers ?? [];
    if (!finalizers.includes(finalizer)) return obj;
    if (!obj.metadata.resourceVersion) {
      throw new KubeError({
        code: 0,
        reason: 'Invalid',
        message: 'removeFinalizer needs the resourceVersion the caller read',
        retryable: false,
      });
    }
    const patch = {
      metadata: {
        resourceVersion: obj.metadata.resourceVersion,
        finalizers: finalizers.filter((entry) => entry !== finalizer),
      },
    };
    try {
      return await this.patchMerge<T>(
        obj.apiVersion,
        obj.kind,
        requireName(obj),
        obj.metadata.namespace,
        patch,
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async createTokenReview(token: string, audiences?: string[]): Promise<TokenReviewStatus> {
    const review = await this.http.json<{ status?: TokenReviewStatus }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/tokenreviews',
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenReview',
        spec: audiences ? { token, audiences } : { token },
      },
    });
    return review.status ?? {};
  }

  async createSubjectAccessReview(spec: SubjectAccessReviewSpec): Promise<SubjectAccessReviewStatus> {
    const review = await this.http.json<{ status?: SubjectAccessReviewStatus }>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec },
    });
    return { allowed: false, ...review.status };
  }

  async createSelfSubjectReview(): Promise<UserInfo> {
    const review = await this.http.json<{ status?: { userInfo?: UserInfo } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    return review.status?.userInfo ?? {};
  }

  serverGroups(): Promise<ApiGroupInfo[]> {
    return this.discovery.serverGroups();
  }

  resourceFor(apiVersion: string, kind: string): Promise<ResourceMapping> {
    return this.discovery.resolve(apiVersion, kind);
  }

  async *watch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options: WatchOptions = {},
  ): AsyncIterable<WatchEvent<T>> {
    const path = await this.collectionPath(apiVersion, kind, options.namespace);
    const query: QueryParams = {
      watch: true,
      resourceVersion: options.resourceVersion,
      allowWatchBookmarks: options.allowWatchBookmarks,
      timeoutSeconds: options.timeoutSeconds,
      labelSelector: options.labelSelector,
      fieldSelector: options.fieldSelector,
    };
    const request = {
      method: 'GET' as const,
      path,
      query,
      ...(options.metadataOnly ? { accept: METADATA_ONLY } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const chunks = await this.http.stream(request);
    try {
      for await (const line of splitLines(chunks)) {
        if (line.trim().length === 0) continue;
        const event = JSON.parse(line) as WatchEvent<T>;
        // Self-describing like a full object (a list fills them in the same way).
        if (options.metadataOnly && event.type !== 'ERROR' && event.type !== 'BOOKMARK') {
          event.object = { ...event.object, apiVersion, kind };
        }
        yield event;
      }
    } catch (err) {
      throw toKubeError(err);
    }
  }

  listWatch<T extends KubeObject = KubeObject>(
    apiVersion: string,
    kind: string,
    options: ListOptions & { watchTimeoutSeconds?: number } = {},
  ): ListWatchSource<T> {
    const { watchTimeoutSeconds, ...selection } = options;
    return {
      list: () => this.list<T>(apiVersion, kind, selection),
      watch: (resourceVersion: string, handlers: WatchHandlers<T>): WatchHandle => {
        const abort = new AbortController();
        const events = this.watch<T>(apiVersion, kind, {
          ...selection,
          resourceVersion,
          allowWatchBookmarks: true,
          // Spread reconnects over time like client-go (5–10 minutes) so replicas do not reconnect together.
          timeoutSeconds: watchTimeoutSeconds ?? 300 + Math.floor(Math.random() * 300),
          signal: abort.signal,
        });
        void pump(events, handlers, abort.signal);
        return { stop: () => abort.abort() };
      },
    };
  }
}

async function pump<T extends KubeObject>(
  events: AsyncIterable<WatchEvent<T>>,
  handlers: WatchHandlers<T>,
  signal: AbortSignal,
): Promise<void> {
  try {
    for await (const event of events) {
      if (signal.aborted) return;
      handlers.onEvent(event);
    }
    if (!signal.aborted) handlers.onClose();
  } catch (err) {
    if (!signal.aborted) handlers.onClose(isGone(err) ? err : toKubeError(err));
  }
}

function writeQuery(options: WriteOptions): QueryParams {
  return {
    fieldManager: options.fieldManager ?? defaultWriteManager,
    fieldValidation: options.fieldValidation ?? 'Strict',
    dryRun: options.dryRun ? 'All' : undefined,
  };
}

async function* splitLines(chunks: AsyncIterable<string>): AsyncIterable<string> {
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      yield buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
  }
  if (buffer.length > 0) yield buffer;
}
