import type { KubeObject } from '../kube/index.ts';
import { identityOf } from './cache.ts';

/** Writes per object whose echo may still be on its way (a reconcile writes an object a few times at most). */
const REMEMBERED_PER_OBJECT = 4;

/**
 * The resourceVersions the operator's own writes produced, per object. The watch event that merely echoes
 * such a write carries nothing the reconcile that made it did not already know, so it need not queue the
 * tenant again: without this, every applied child re-runs its tenant's reconcile once more. Every other
 * change (a hand edit, another controller's status, a delete) has a resourceVersion we did not write and is
 * queued as before, so drift is still seen.
 */
export class OwnWrites {
  /** identity → resourceVersions of our writes not echoed yet, oldest first. */
  private readonly versions = new Map<string, string[]>();

  /**
   * Remembers the object a write returned. `previousVersion` is the resourceVersion the write started from:
   * a write that returns it changed nothing (a no-op apply) and will not be echoed. (The cache cannot tell:
   * the echo may already have updated it by the time the response is read.)
   */
  record(written: KubeObject, previousVersion?: string): void {
    const resourceVersion = written.metadata.resourceVersion;
    if (!resourceVersion || resourceVersion === previousVersion) return;
    const identity = identityOf(written);
    const pending = this.versions.get(identity) ?? [];
    if (!pending.includes(resourceVersion)) pending.push(resourceVersion);
    this.versions.set(identity, pending.slice(-REMEMBERED_PER_OBJECT));
  }

  /**
   * True when `observed` is exactly what one of our writes to it returned. A watch delivers an object's
   * versions in order, so once one is seen, the writes before it have been echoed already and are dropped
   * along with it. A version we did not write means the object moved on without us (or its echo was lost to
   * a relist): nothing more is awaited for it; at worst one echo then queues a reconcile.
   */
  isEcho(observed: KubeObject): boolean {
    const identity = identityOf(observed);
    const pending = this.versions.get(identity);
    if (!pending) return false;
    const index = pending.indexOf(observed.metadata.resourceVersion ?? '');
    const rest = index < 0 ? [] : pending.slice(index + 1);
    if (rest.length > 0) this.versions.set(identity, rest);
    else this.versions.delete(identity);
    return index >= 0;
  }

  /** Forgets a deleted object. */
  forget(deleted: KubeObject): void {
    this.versions.delete(identityOf(deleted));
  }

  /** Forgets everything, when the watches that would deliver the echoes stop. */
  clear(): void {
    this.versions.clear();
  }

  /** Objects with writes whose echo has not arrived yet: until it does, the caches lag our own writes. */
  get size(): number {
    return this.versions.size;
  }
}
