import { createHash } from 'node:crypto';
import { InvalidError } from '../domain/errors.ts';

/** Sort keys of the contract's `orderBy` and the column each one reads. */
export const ORDER_COLUMNS = {
  ID: 'id',
  CREATE_TIME: 'create_time',
  LAST_UPDATE_TIME: 'update_time',
} as const;
export type OrderBy = keyof typeof ORDER_COLUMNS;
export type SortOrder = 'ASC' | 'DESC';

/** Where the next page starts: the last row's sort value and id (keyset pagination). */
export interface PagePosition {
  sortValue: string;
  id: string;
}

/**
 * A stable fingerprint of everything that decides a list's rows and their order (tenant, kinds, parent,
 * filter, orderBy, sortOrder). A page token carries it, so a token is only accepted for the query that made
 * it: a token replayed against another filter or order would silently skip or repeat rows.
 */
export function queryFingerprint(query: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(query)).digest('base64url').slice(0, 16);
}

/**
 * The token for the page after `position`: deterministic (the same query and position always give the
 * same token), opaque to clients, and bound to the query's fingerprint.
 */
export function encodePageToken(fingerprint: string, position: PagePosition): string {
  return Buffer.from(JSON.stringify([1, fingerprint, position.sortValue, position.id])).toString('base64url');
}

function badToken(message: string): InvalidError {
  return new InvalidError(
    [{ pointer: '', message: `nextPageToken: ${message}` }],
    `nextPageToken: ${message}`,
  );
}

/** Reads a token back; 400 when it is malformed or was made for a different query. */
export function decodePageToken(token: string, fingerprint: string): PagePosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badToken('not a token this server issued');
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    parsed[0] !== 1 ||
    typeof parsed[1] !== 'string' ||
    typeof parsed[2] !== 'string' ||
    typeof parsed[3] !== 'string' ||
    !/^-?[0-9]{1,19}$/.test(parsed[2]) ||
    !/^[0-9]{1,19}$/.test(parsed[3])
  ) {
    throw badToken('not a token this server issued');
  }
  if (parsed[1] !== fingerprint) {
    throw badToken(
      'the token belongs to a different query (filter, order or parent changed); start again without it',
    );
  }
  return { sortValue: parsed[2], id: parsed[3] };
}
