import { KubeError, isNotFound } from './errors.ts';
import type { KubeHttp } from './http.ts';

/** Where a kind lives in the REST API. */
export interface ResourceMapping {
  /** The plural resource name used in URLs, e.g. `inferenceendpoints`. */
  resource: string;
  namespaced: boolean;
  /** Subresources the server serves for it, e.g. `status`, `scale`. */
  subresources: string[];
}

/** One API group the server serves, with its versions (`''` is the core group). */
export interface ApiGroupInfo {
  name: string;
  versions: string[];
  preferredVersion: string | undefined;
}

interface ApiResourceList {
  resources: { name: string; kind: string; namespaced: boolean }[];
}

interface ApiGroupList {
  groups: {
    name: string;
    versions: { groupVersion: string; version: string }[];
    preferredVersion?: { version: string };
  }[];
}

/**
 * Maps apiVersion+kind to REST paths, caching per group-version. A kind missing from the cached list
 * triggers one refetch, so a CRD installed after start-up is found on first use instead of staying
 * "unrecognized" for the life of the process (the failure mode of one long-lived KubernetesObjectApi).
 */
export class Discovery {
  private readonly cache = new Map<string, Promise<Map<string, ResourceMapping>>>();

  constructor(private readonly http: KubeHttp) {}

  /** Resolves the REST mapping; throws KubeError `NoKindMatch` when the server does not serve the kind. */
  async resolve(apiVersion: string, kind: string): Promise<ResourceMapping> {
    const cached = this.cache.get(apiVersion);
    if (cached) {
      const mapping = (await cached.catch(() => undefined))?.get(kind);
      if (mapping) return mapping;
    }
    const fresh = this.fetch(apiVersion);
    this.cache.set(apiVersion, fresh);
    fresh.catch(() => this.cache.get(apiVersion) === fresh && this.cache.delete(apiVersion));
    const mapping = (await fresh).get(kind);
    if (!mapping) throw noKindMatch(apiVersion, kind);
    return mapping;
  }

  /** Lists every API group and version the server serves right now (uncached: used for feature detection). */
  async serverGroups(): Promise<ApiGroupInfo[]> {
    const core = await this.http.json<{ versions: string[] }>({ method: 'GET', path: '/api' });
    const groups = await this.http.json<ApiGroupList>({ method: 'GET', path: '/apis' });
    return [
      { name: '', versions: core.versions, preferredVersion: core.versions[0] },
      ...groups.groups.map((group) => ({
        name: group.name,
        versions: group.versions.map((version) => version.version),
        preferredVersion: group.preferredVersion?.version,
      })),
    ];
  }

  private async fetch(apiVersion: string): Promise<Map<string, ResourceMapping>> {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list: ApiResourceList;
    try {
      list = await this.http.json<ApiResourceList>({ method: 'GET', path });
    } catch (err) {
      if (isNotFound(err)) return new Map();
      throw err;
    }
    const byKind = new Map<string, ResourceMapping>();
    const subresources = new Map<string, string[]>();
    for (const entry of list.resources) {
      const [resource, subresource] = entry.name.split('/');
      if (resource === undefined) continue;
      if (subresource !== undefined) {
        subresources.set(resource, [...(subresources.get(resource) ?? []), subresource]);
      } else {
        byKind.set(entry.kind, { resource, namespaced: entry.namespaced, subresources: [] });
      }
    }
    for (const mapping of byKind.values()) mapping.subresources = subresources.get(mapping.resource) ?? [];
    return byKind;
  }
}

function noKindMatch(apiVersion: string, kind: string): KubeError {
  return new KubeError({
    code: 404,
    reason: 'NoKindMatch',
    message: `the server does not serve kind ${kind} in ${apiVersion}`,
    // A CRD or an API group may be installed later; the caller's backoff decides how often to look again.
    retryable: true,
  });
}

/** True when `groups` (from `serverGroups()`) serve `group`, optionally at `version`. */
export function servesGroup(groups: ApiGroupInfo[], group: string, version?: string): boolean {
  const found = groups.find((candidate) => candidate.name === group);
  return found !== undefined && (version === undefined || found.versions.includes(version));
}
