import type { ObjectMeta } from '../domain/index.ts';

/** Object metadata with only the fields given (no undefined keys, so serialised output stays stable). */
export function objectMeta(
  name: string,
  namespace: string | undefined,
  labels: Record<string, string>,
  annotations?: Record<string, string>,
): ObjectMeta {
  const meta: ObjectMeta = { name };
  if (namespace !== undefined) meta.namespace = namespace;
  meta.labels = labels;
  if (annotations !== undefined && Object.keys(annotations).length > 0) meta.annotations = annotations;
  return meta;
}
