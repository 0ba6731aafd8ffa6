import type { KubeObject } from '../kube/index.ts';
import { identityOf } from './cache.ts';

/**
 * The resourceVersion each of the operator's own writes produced, per object. The watch event that merely
 * echoes such a write carries nothing the reconcile that made it did not already know, so it need not queue
 * the tenant again: without this, every applied child re-runs its tenant's reconcile once more. Every other
 * change (a hand edit, another controller's status, a delete) has a different resourceVersion and is queued
 * as before, so drift is still seen.
 */
export class OwnWrites {
  private readonly versions = new Map<string, string>();

  /** Remembers the object a write returned. */
  record(written: KubeObject): void {
    const resourceVersion = written.metadata.resourceVersion;
    if (resourceVersion) this.versions.set(identityOf(written), resourceVersion);
  }

  /**
   * True when `observed` is exactly what our last write to it returned. Each write is echoed once, so the
   * entry is dropped; entries of writes whose echo raced ahead of the response stay until the next write or
   * delete of that object replaces them (one per object at most).
   */
  isEcho(observed: KubeObject): boolean {
    const identity = identityOf(observed);
    const resourceVersion = this.versions.get(identity);
    if (resourceVersion === undefined || resourceVersion !== observed.metadata.resourceVersion) return false;
    this.versions.delete(identity);
    return true;
  }

  /** Forgets a deleted object. */
  forget(deleted: KubeObject): void {
    this.versions.delete(identityOf(deleted));
  }

  get size(): number {
    return this.versions.size;
  }
}
