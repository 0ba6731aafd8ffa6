import type { KubeObject } from '../kube/index.ts';
import { identityOf } from './cache.ts';

/**
 * The resourceVersion of each owned object at which its content is known to hold the desired state: the version
 * the operator's own apply returned, or one whose content it read and compared. The cache holds most kinds as
 * metadata only (see `OwnedKind.contentRead`), so this is what lets a reconcile skip an object without its
 * content: the same resourceVersion and the same desired hash mean nothing changed since it was known good.
 * Any other version (a hand edit, another controller's write) is read from the apiserver and compared again.
 */
export class KnownContent {
  /** identity → resourceVersion. */
  private readonly versions = new Map<string, string>();

  /** Remembers that `object`, as it is at its resourceVersion, holds the desired state. */
  remember(object: KubeObject): void {
    const resourceVersion = object.metadata.resourceVersion;
    if (resourceVersion) this.versions.set(identityOf(object), resourceVersion);
  }

  /** True when `observed` is at a version known to hold the desired state. */
  holds(observed: KubeObject): boolean {
    const resourceVersion = observed.metadata.resourceVersion;
    return resourceVersion !== undefined && this.versions.get(identityOf(observed)) === resourceVersion;
  }

  /**
   * Carries what was known of `old` over to `updated` when the update cannot have touched the content the
   * operator renders (a custom resource's status, with the same generation and metadata).
   */
  carryOver(old: KubeObject, updated: KubeObject): void {
    if (this.holds(old)) this.remember(updated);
  }

  /** Forgets a deleted object. */
  forget(deleted: KubeObject): void {
    this.versions.delete(identityOf(deleted));
  }

  get size(): number {
    return this.versions.size;
  }
}
