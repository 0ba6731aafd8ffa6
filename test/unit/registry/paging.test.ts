import { describe, expect, it } from 'vitest';
import { decodePageToken, encodePageToken, queryFingerprint } from '../../../src/registry/paging.ts';

describe('page tokens', () => {
  const query = { tenant: 'acme', kinds: ['registered-model'], orderBy: 'CREATE_TIME', sortOrder: 'ASC' };

  it('are deterministic: the same query and position give the same token', () => {
    const a = encodePageToken(queryFingerprint(query), { sortValue: '1700000000000', id: '42' });
    const b = encodePageToken(queryFingerprint({ ...query }), { sortValue: '1700000000000', id: '42' });
    expect(a).toBe(b);
    expect(decodePageToken(a, queryFingerprint(query))).toEqual({ sortValue: '1700000000000', id: '42' });
  });

  it('are refused for another query (order, filter or tenant changed)', () => {
    const token = encodePageToken(queryFingerprint(query), { sortValue: '1', id: '2' });
    for (const other of [
      { ...query, sortOrder: 'DESC' },
      { ...query, tenant: 'other' },
      { ...query, filter: 'x' },
    ]) {
      expect(() => decodePageToken(token, queryFingerprint(other))).toThrow(/different query/);
    }
  });

  it.each(['', 'garbage', Buffer.from('[1,"x","1; DROP","2"]').toString('base64url')])(
    'malformed tokens are refused: %s',
    (token) => {
      expect(() => decodePageToken(token, queryFingerprint(query))).toThrow(/not a token this server issued/);
    },
  );
});
