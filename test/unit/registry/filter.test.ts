import { describe, expect, it } from 'vitest';
import { compileFilter, parseFilter, type StandardProperty } from '../../../src/registry/filter.ts';

const standard = (name: string): StandardProperty | undefined =>
  ({
    name: { sql: 'name', type: 'text' },
    state: { sql: 'state', type: 'text' },
    id: { sql: 'id', type: 'bigint' },
  })[name] as StandardProperty | undefined;

function compile(query: string): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const node = parseFilter(query);
  if (!node) throw new Error('no filter');
  return { sql: compileFilter(node, standard, params), params };
}

describe('filterQuery', () => {
  it('an empty query is no filter', () => {
    expect(parseFilter(undefined)).toBeUndefined();
    expect(parseFilter('   ')).toBeUndefined();
  });

  it('compiles standard properties to columns with the values as parameters', () => {
    expect(compile(`name = "my-model"`)).toEqual({ sql: 'name = $1', params: ['my-model'] });
    expect(compile(`id >= 5`)).toEqual({ sql: 'id >= $1', params: ['5'] });
    expect(compile(`name <> 'a''b'`)).toEqual({ sql: 'name != $1', params: ["a'b"] });
  });

  it('AND binds tighter than OR, and parentheses group', () => {
    expect(compile(`name = "a" OR name = "b" AND state = "LIVE"`).sql).toBe(
      '(name = $1 OR (name = $2 AND state = $3))',
    );
    expect(compile(`(name = "a" OR name = "b") AND state = "LIVE"`).sql).toBe(
      '((name = $1 OR name = $2) AND state = $3)',
    );
  });

  it('compiles LIKE, ILIKE and IN', () => {
    expect(compile(`name ILIKE "%Torch%"`)).toEqual({ sql: 'name ILIKE $1', params: ['%Torch%'] });
    expect(compile(`state IN ("LIVE", 'ARCHIVED')`)).toEqual({
      sql: 'state IN ($1, $2)',
      params: ['LIVE', 'ARCHIVED'],
    });
  });

  it('unknown names are custom properties whose value type follows the literal', () => {
    expect(compile(`framework = "pytorch"`)).toEqual({
      sql: `(custom_properties -> $1 ->> 'string_value') = $2`,
      params: ['framework', 'pytorch'],
    });
    expect(compile(`accuracy > 0.95`).sql).toContain(`IN ('MetadataIntValue', 'MetadataDoubleValue')`);
    expect(compile(`flag = true`)).toEqual({
      sql: `(custom_properties -> $1 ->> 'bool_value')::boolean = $2`,
      params: ['flag', true],
    });
  });

  it('a type suffix or backticks name a custom property explicitly', () => {
    expect(compile('`mlflow.source.type` = "notebook"').params).toEqual(['mlflow.source.type', 'notebook']);
    expect(compile('name.string_value = "x"').params).toEqual(['name', 'x']);
    expect(compile('epochs.int_value < 10').sql).toContain(`IN ('MetadataIntValue')`);
  });

  it.each([
    ['NOT name = "a"', /NOT is not supported/],
    ['name = "a', /unterminated string/],
    ['name = "a" AND', /expected a property name but found the end/],
    ['name "a"', /expected an operator/],
    ['name = "a") OR (', /unexpected "\)"/],
    ['id = "one"', /compared with whole numbers/],
    ['name = 5', /compared with strings/],
    ['name LIKE 5', /needs a string pattern/],
    ['state IN ("a", 1)', /one type/],
    ['x = 1; DROP TABLE t', /unexpected ";"/],
    ['flag > true', /compared with = or !=/],
  ])('refuses %s with a clear message', (query, message) => {
    expect(() => compile(query)).toThrow(message);
  });
});
