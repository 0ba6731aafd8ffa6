import {
  HttpMethod,
  IsomorphicFetchHttpLibrary,
  RequestContext,
  type KubeConfig,
} from '@kubernetes/client-node';
import { KubeError, kubeErrorFromResponse, toKubeError } from './errors.ts';

/** Query parameters of one apiserver request; undefined values are left out. */
export type QueryParams = Record<string, string | number | boolean | undefined>;

/** One request to the apiserver, with a JSON body already in wire form. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: QueryParams;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

/**
 * The JSON-over-HTTP layer under the facade. It borrows the client library's kubeconfig handling,
 * authentication (tokens, client certificates, exec plugins) and TLS dispatcher, but sends and receives
 * plain JSON itself: the library's serializer drops fields its generated models do not know (so
 * `fieldValidation=Strict` could never see them, and fields newer than the library vanish silently) and
 * turns timestamps into `Date`s, which breaks comparing desired with observed state.
 */
export class KubeHttp {
  private readonly http = new IsomorphicFetchHttpLibrary();
  private readonly server: string;

  constructor(private readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /** Sends the request and returns the parsed JSON body; any non-2xx answer throws a KubeError. */
  async json<T>(request: KubeRequest): Promise<T> {
    const response = await this.send(request);
    const text = await response.body.text();
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw kubeErrorFromResponse(response.httpStatusCode, text);
    }
    return (text.length > 0 ? JSON.parse(text) : {}) as T;
  }

  /** Sends the request and returns the body stream of a 2xx answer (watches); others throw a KubeError. */
  async stream(request: KubeRequest): Promise<ReadableStream<Uint8Array>> {
    const response = await this.send(request);
    if (response.httpStatusCode < 200 || response.httpStatusCode > 299) {
      throw kubeErrorFromResponse(response.httpStatusCode, await response.body.text());
    }
    const body = response.body.stream();
    if (!body) throw new KubeError({ code: 0, reason: 'Network', message: 'watch response has no body' });
    return body;
  }

  private async send(request: KubeRequest) {
    const url = new URL(this.server + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const context = new RequestContext(url.toString(), HttpMethod[request.method]);
    context.setHeaderParam('Accept', 'application/json');
    if (request.body !== undefined) {
      context.setHeaderParam('Content-Type', request.contentType ?? 'application/json');
      context.setBody(JSON.stringify(request.body));
    }
    if (request.signal) context.setSignal(request.signal);
    try {
      await this.config.applySecurityAuthentication(context);
      return await this.http.send(context).toPromise();
    } catch (err) {
      throw toKubeError(err);
    }
  }
}
