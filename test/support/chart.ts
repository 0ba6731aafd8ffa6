import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

/** The namespace the chart is installed into in these tests (Helm's `.Release.Namespace`). */
export const RELEASE_NAMESPACE = 'tenantmesh-system';

const chartFile = (relative: string) =>
  fileURLToPath(new URL(`../../charts/tenantmesh/${relative}`, import.meta.url));

/** The chart's values.yaml. */
export function chartValues(): Record<string, unknown> {
  return parse(readFileSync(chartFile('values.yaml'), 'utf8')) as Record<string, unknown>;
}

function lookup(values: Record<string, unknown>, path: string): unknown {
  let at: unknown = values;
  for (const key of path.split('.')) at = (at as Record<string, unknown> | undefined)?.[key];
  return at;
}

/**
 * Reads a chart template the way Helm would for the simple expressions the RBAC and policy templates use:
 * `{{ .Values.x }}`, `{{ toJson .Values.x }}`, `{{ .Release.Namespace }}`; includes (labels) become `{}` and
 * anything else the word `templated`, so the YAML parses. Enough to read names, namespaces and rules.
 */
export function chartDocuments(
  template: string,
  values: Record<string, unknown> = chartValues(),
): Record<string, unknown>[] {
  const text = readFileSync(chartFile(`templates/${template}`), 'utf8')
    .replace(/\{\{-? *include[^}]*\}\}/g, '{}')
    .replace(/\{\{-? *\.Release\.Namespace *-?\}\}/g, RELEASE_NAMESPACE)
    .replace(/\{\{-? *toJson +\.Values\.([\w.]+) *-?\}\}/g, (_, path: string) =>
      JSON.stringify(lookup(values, path) ?? null),
    )
    .replace(/\{\{-? *\.Values\.([\w.]+) *-?\}\}/g, (_, path: string) => String(lookup(values, path)))
    .replace(/\{\{-?[^}]*\}\}/g, 'templated');
  return parseAllDocuments(text)
    .map((document) => document.toJS() as Record<string, unknown> | null)
    .filter((document): document is Record<string, unknown> => document !== null);
}

/** The first document of `kind` named `name` in `template`; fails naming what is missing. */
export function chartObject(template: string, kind: string, name: string): Record<string, unknown> {
  const found = chartDocuments(template).find(
    (doc) => doc.kind === kind && (doc.metadata as { name?: string }).name === name,
  );
  if (!found) throw new Error(`${template} has no ${kind} ${name}`);
  return found;
}
