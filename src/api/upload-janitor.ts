import type { Logger } from 'pino';
import type { ModelStore } from '../storage/store.ts';

/** How often, and after how long, abandoned upload sessions are removed. */
export interface UploadJanitorOptions {
  /** A session untouched for this long is abandoned: its parts and staged data go. Default 24 h. */
  staleAfterMs?: number;
  /** Time between sweeps. Default 1 h. */
  intervalMs?: number;
}

/**
 * Sweeps every tenant's stale upload sessions on a schedule, so abandoned multipart uploads neither hold
 * storage nor count against the open-session cap forever. Every API replica runs it; a sweep is idempotent.
 * Returns a function that stops it.
 */
export function startUploadJanitor(
  deps: { tenantNames(): Promise<string[]>; store: Pick<ModelStore, 'cleanupStaleUploads'>; logger: Logger },
  options: UploadJanitorOptions = {},
): () => void {
  const staleAfterMs = options.staleAfterMs ?? 24 * 60 * 60_000;
  const intervalMs = options.intervalMs ?? 60 * 60_000;
  let running = false;
  const sweep = async () => {
    if (running) return;
    running = true;
    try {
      for (const tenant of await deps.tenantNames()) {
        try {
          const removed = await deps.store.cleanupStaleUploads(tenant, staleAfterMs);
          if (removed.abortedUploads > 0 || removed.removedObjects > 0) {
            deps.logger.info({ tenant, ...removed }, 'removed stale upload sessions');
          }
        } catch (error) {
          // A tenant without a bucket yet, or a passing store outage: the next sweep tries again.
          deps.logger.warn({ tenant, err: error }, 'sweeping stale uploads failed');
        }
      }
    } catch (error) {
      deps.logger.warn({ err: error }, 'listing tenants for the upload sweep failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void sweep(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
