import { describe, expect, it } from 'vitest';
import { declaresBody } from '../../../src/api/slow-clients.ts';

describe('declaresBody', () => {
  it.each([
    ['a GET with neither Content-Length nor Transfer-Encoding', {}, false],
    ['a request declaring an empty body', { 'content-length': '0' }, false],
    ['a request declaring a length', { 'content-length': '5' }, true],
    ['a chunked request', { 'transfer-encoding': 'chunked' }, true],
    ['a request with both headers', { 'content-length': '0', 'transfer-encoding': 'chunked' }, true],
  ])('%s', (_case, headers, expected) => {
    expect(declaresBody(headers)).toBe(expected);
  });
});
