import { InvalidError } from '../domain/errors.ts';

/**
 * The `filterQuery` language of the Model Registry contract, the subset we support: comparisons
 * (`=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`), `LIKE`, `ILIKE`, `IN (…)`, `AND`, `OR` and parentheses over standard
 * properties (name, id, state, externalId, …) and custom properties (`accuracy > 0.9`,
 * `framework.string_value = "torch"`, `` `mlflow.source.type` = "notebook" ``). Anything else is refused with
 * an error that says where. Values always become query parameters, never SQL text.
 */

export type Literal = string | number | boolean;
type ValueType = 'string_value' | 'int_value' | 'double_value' | 'bool_value';

/** The parsed expression. */
export type FilterNode =
  | { op: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { op: 'compare'; property: PropertyRef; operator: string; values: Literal[] };

export interface PropertyRef {
  name: string;
  /** Explicit custom-property value type (`prop.int_value`). */
  valueType?: ValueType;
}

type Token =
  | { t: 'ident'; v: string; quoted: boolean; at: number }
  | { t: 'string'; v: string; at: number }
  | { t: 'number'; v: number; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'punct'; v: '(' | ')' | ','; at: number }
  | { t: 'end'; at: number };

const MAX_QUERY_LENGTH = 4096;
const MAX_IN_VALUES = 100;

function invalid(message: string): InvalidError {
  return new InvalidError([{ pointer: '', message: `filterQuery: ${message}` }], `filterQuery: ${message}`);
}

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: 'punct', v: c, at });
      i++;
    } else if (c === '"' || c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= query.length) throw invalid(`unterminated string starting at position ${at + 1}`);
        const d = query[i]!;
        if (d === '\\' && i + 1 < query.length) {
          value += query[i + 1];
          i += 2;
        } else if (d === c) {
          if (query[i + 1] === c) {
            value += c;
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ t: 'string', v: value, at });
    } else if (c === '`') {
      const close = query.indexOf('`', i + 1);
      if (close < 0) throw invalid(`unterminated \`name\` starting at position ${at + 1}`);
      let name = query.slice(i + 1, close);
      i = close + 1;
      // `name`.int_value
      const suffix = /^\.(string_value|int_value|double_value|bool_value)\b/.exec(query.slice(i));
      if (suffix) {
        name += suffix[0];
        i += suffix[0].length;
      }
      tokens.push({ t: 'ident', v: name, quoted: true, at });
    } else if (/[<>=!]/.test(c)) {
      const two = query.slice(i, i + 2);
      const op = ['<=', '>=', '!=', '<>'].includes(two) ? two : c;
      if (op === '!') throw invalid(`unexpected "!" at position ${at + 1}`);
      tokens.push({ t: 'op', v: op, at });
      i += op.length;
    } else if (/[0-9-]/.test(c) || (c === '.' && /[0-9]/.test(query[i + 1] ?? ''))) {
      const match = /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?/.exec(query.slice(i));
      if (!match) throw invalid(`unexpected "${c}" at position ${at + 1}`);
      const value = Number(match[0]);
      if (!Number.isFinite(value)) throw invalid(`number out of range at position ${at + 1}`);
      tokens.push({ t: 'number', v: value, at });
      i += match[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(query.slice(i))!;
      tokens.push({ t: 'ident', v: match[0], quoted: false, at });
      i += match[0].length;
    } else {
      throw invalid(`unexpected "${c}" at position ${at + 1}`);
    }
  }
  tokens.push({ t: 'end', at: query.length });
  return tokens;
}

const KEYWORD_OPERATORS = new Set(['LIKE', 'ILIKE', 'IN']);

/** Parses a filterQuery; an empty query is `undefined` (no filter). Throws Invalid with a position. */
export function parseFilter(query: string | undefined): FilterNode | undefined {
  if (query === undefined || query.trim() === '') return undefined;
  if (query.length > MAX_QUERY_LENGTH) throw invalid(`longer than ${MAX_QUERY_LENGTH} characters`);
  const tokens = tokenize(query);
  let position = 0;
  let depth = 0;
  const peek = () => tokens[position]!;
  const next = () => tokens[position++]!;
  const keyword = (token: Token, word: string) =>
    token.t === 'ident' && !token.quoted && token.v.toUpperCase() === word;
  const describe = (token: Token) =>
    token.t === 'end'
      ? 'the end of the query'
      : `"${'v' in token ? String(token.v) : ''}" at position ${token.at + 1}`;

  const expression = (): FilterNode => {
    let left = conjunction();
    while (keyword(peek(), 'OR')) {
      next();
      left = { op: 'or', left, right: conjunction() };
    }
    return left;
  };
  const conjunction = (): FilterNode => {
    let left = primary();
    while (keyword(peek(), 'AND')) {
      next();
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  const primary = (): FilterNode => {
    const token = peek();
    if (token.t === 'punct' && token.v === '(') {
      next();
      if (++depth > 32) throw invalid('parentheses nested too deeply');
      const inner = expression();
      const close = next();
      if (close.t !== 'punct' || close.v !== ')') throw invalid(`expected ")" but found ${describe(close)}`);
      depth--;
      return inner;
    }
    return comparison();
  };
  const literal = (): Literal => {
    const token = next();
    if (token.t === 'string' || token.t === 'number') return token.v;
    if (keyword(token, 'TRUE')) return true;
    if (keyword(token, 'FALSE')) return false;
    throw invalid(`expected a value but found ${describe(token)}`);
  };
  const comparison = (): FilterNode => {
    const token = next();
    if (token.t !== 'ident' || (!token.quoted && ['AND', 'OR', 'NOT'].includes(token.v.toUpperCase()))) {
      throw invalid(
        `expected a property name but found ${describe(token)}${keyword(token, 'NOT') ? ' (NOT is not supported)' : ''}`,
      );
    }
    const property = propertyRef(token.v);
    const operatorToken = next();
    let operator: string;
    if (operatorToken.t === 'op') operator = operatorToken.v === '<>' ? '!=' : operatorToken.v;
    else if (
      operatorToken.t === 'ident' &&
      !operatorToken.quoted &&
      KEYWORD_OPERATORS.has(operatorToken.v.toUpperCase())
    ) {
      operator = operatorToken.v.toUpperCase();
    } else throw invalid(`expected an operator after "${token.v}" but found ${describe(operatorToken)}`);
    if (operator === 'IN') {
      const open = next();
      if (open.t !== 'punct' || open.v !== '(')
        throw invalid(`expected "(" after IN but found ${describe(open)}`);
      const values = [literal()];
      for (;;) {
        const separator = next();
        if (separator.t === 'punct' && separator.v === ')') break;
        if (separator.t !== 'punct' || separator.v !== ',')
          throw invalid(`expected "," or ")" but found ${describe(separator)}`);
        values.push(literal());
        if (values.length > MAX_IN_VALUES) throw invalid(`IN takes at most ${MAX_IN_VALUES} values`);
      }
      if (new Set(values.map((v) => typeof v)).size > 1)
        throw invalid(`the values of IN must all be of one type`);
      return { op: 'compare', property, operator, values };
    }
    const value = literal();
    if ((operator === 'LIKE' || operator === 'ILIKE') && typeof value !== 'string') {
      throw invalid(`${operator} needs a string pattern`);
    }
    return { op: 'compare', property, operator, values: [value] };
  };

  const node = expression();
  const rest = peek();
  if (rest.t !== 'end') throw invalid(`unexpected ${describe(rest)}`);
  return node;
}

function propertyRef(text: string): PropertyRef {
  const match = /^(.+)\.(string_value|int_value|double_value|bool_value)$/.exec(text);
  if (match) return { name: match[1]!, valueType: match[2] as ValueType };
  return { name: text };
}

/** A standard property of a kind: a column, or a typed field in `properties`. */
export interface StandardProperty {
  sql: string;
  type: 'text' | 'bigint';
}

/** Compiles a parsed filter into a SQL condition; `params` receives the values ($n placeholders). */
export function compileFilter(
  node: FilterNode,
  standard: (name: string) => StandardProperty | undefined,
  params: unknown[],
): string {
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const compile = (n: FilterNode): string => {
    if (n.op !== 'compare') return `(${compile(n.left)} ${n.op.toUpperCase()} ${compile(n.right)})`;
    const { property, operator, values } = n;
    const known = property.valueType ? undefined : standard(property.name);
    const kind = typeof values[0];
    let target: string;
    let cast: (v: Literal) => unknown = (v) => v;
    if (known) {
      if (known.type === 'bigint') {
        if (kind !== 'number' || !values.every((v) => Number.isInteger(v))) {
          throw invalid(`${property.name} is compared with whole numbers`);
        }
        target = known.sql;
        cast = (v) => String(v);
      } else {
        if (kind !== 'string') throw invalid(`${property.name} is compared with strings`);
        target = known.sql;
      }
    } else {
      const valueType: ValueType =
        property.valueType ??
        (kind === 'string' ? 'string_value' : kind === 'boolean' ? 'bool_value' : 'double_value');
      const field = `custom_properties -> ${bind(property.name)}`;
      if (valueType === 'string_value') {
        if (kind !== 'string') throw invalid(`${property.name}.string_value is compared with strings`);
        target = `(${field} ->> 'string_value')`;
      } else if (valueType === 'bool_value') {
        if (kind !== 'boolean') throw invalid(`${property.name}.bool_value is compared with true or false`);
        if (operator !== '=' && operator !== '!=' && operator !== 'IN') {
          throw invalid(`booleans are compared with = or !=`);
        }
        target = `(${field} ->> 'bool_value')::boolean`;
      } else {
        if (kind !== 'number') throw invalid(`${property.name}.${valueType} is compared with numbers`);
        // Numbers match int and double values alike unless the query names the type.
        const accepted =
          property.valueType === 'int_value'
            ? `'MetadataIntValue'`
            : property.valueType === 'double_value'
              ? `'MetadataDoubleValue'`
              : `'MetadataIntValue', 'MetadataDoubleValue'`;
        target =
          `(CASE WHEN ${field} ->> 'metadataType' IN (${accepted}) ` +
          `THEN COALESCE(${field} ->> 'int_value', ${field} ->> 'double_value')::numeric END)`;
        cast = (v) => String(v);
      }
    }
    if (operator === 'IN') return `${target} IN (${values.map((v) => bind(cast(v))).join(', ')})`;
    if (operator === 'LIKE' || operator === 'ILIKE') {
      if (
        known?.type === 'bigint' ||
        (!known && property.valueType && property.valueType !== 'string_value')
      ) {
        throw invalid(`${operator} applies to strings only`);
      }
      return `${target} ${operator} ${bind(values[0])}`;
    }
    return `${target} ${operator} ${bind(cast(values[0]!))}`;
  };
  return compile(node);
}
