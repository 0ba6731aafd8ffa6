import { InvalidArgumentError } from 'commander';

/** An RBAC subject as the API takes it. */
export interface SubjectArg {
  kind: 'User' | 'Group' | 'ServiceAccount';
  name: string;
  namespace?: string;
}

/**
 * `user:alice@example.com`, `group:ml-team`, `serviceaccount:ns/name` (or `sa:ns/name`): short, and
 * unambiguous about the kind, which RBAC treats very differently.
 */
export function parseSubject(text: string): SubjectArg {
  const match = /^([A-Za-z]+):(.+)$/.exec(text);
  const kind = match?.[1]?.toLowerCase();
  const rest = match?.[2] ?? '';
  if (kind === 'user') return { kind: 'User', name: rest };
  if (kind === 'group') return { kind: 'Group', name: rest };
  if (kind === 'serviceaccount' || kind === 'sa') {
    const [namespace, name, extra] = rest.split('/');
    if (namespace && name && extra === undefined) return { kind: 'ServiceAccount', namespace, name };
    throw new InvalidArgumentError(`${text}: a ServiceAccount is serviceaccount:<namespace>/<name>`);
  }
  throw new InvalidArgumentError(
    `${text}: expected user:<name>, group:<name> or serviceaccount:<namespace>/<name>`,
  );
}

/** Collects a repeatable option into an array. */
export function collect<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  return (text, previous) => [...(previous ?? []), parse(text)];
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  ki: 2 ** 10,
  kib: 2 ** 10,
  mi: 2 ** 20,
  mib: 2 ** 20,
  gi: 2 ** 30,
  gib: 2 ** 30,
  ti: 2 ** 40,
  tib: 2 ** 40,
};

/** `1073741824`, `100Gi`, `1.5GiB`, `500MB` → bytes. */
export function parseBytes(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/.exec(text.trim());
  const factor = match ? BYTE_UNITS[match[2]?.toLowerCase() ?? ''] : undefined;
  if (!match || factor === undefined)
    throw new InvalidArgumentError(`${text}: expected a size such as 1073741824, 100Gi or 500MB`);
  const bytes = Math.round(Number(match[1]) * factor);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`${text}: too large`);
  return bytes;
}

/** A non-negative integer option. */
export function parseCount(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value))
    throw new InvalidArgumentError(`${text}: expected a whole number`);
  return value;
}

/** A duration such as `30s`, `500ms`, `2m` or plain seconds → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match) throw new InvalidArgumentError(`${text}: expected a duration such as 30s, 500ms or 2m`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? value : unit === 's' ? value * 1000 : value * 60_000;
  if (ms <= 0) throw new InvalidArgumentError(`${text}: must be positive`);
  return ms;
}
