import { AppError } from '../errors.js';
import type { CompareOp, FilterNode, FilterValue } from '../store/audit-query.js';

export type { CompareOp, FilterNode, FilterValue } from '../store/audit-query.js';

/**
 * An OData v4 `$filter` parser: a tokenizer and a recursive-descent parser to an AST, checked
 * against a schema of the resource's filterable properties. The grammar, loosest first:
 *
 *   or    := and ('or' and)*
 *   and   := unary ('and' unary)*
 *   unary := 'not' unary | '(' or ')' | startswith '(' path ',' string ')' | path/any '(' [v ':' or] ')' | path op literal
 *
 * Anything outside the schema — unknown properties, other functions or lambdas, operators a
 * property does not support, literals of the wrong type — throws one AppError (400) naming it:
 * `request.unsupported_query` for valid OData this server does not do, `request.invalid` for text
 * that is not valid OData. Nothing else is ever thrown, whatever the input (see the fast-check test).
 */

export interface FilterField {
  type: 'string' | 'dateTimeOffset';
  /** startswith(field, '…') allowed (strings only) */
  startswith?: boolean;
  /** an enumeration: the literal must be one of these (case-insensitively) */
  values?: readonly string[];
}

export interface FilterSchema {
  /** the entity type named in messages, e.g. 'directoryAudit' */
  entity: string;
  /** canonical property paths, e.g. 'initiatedBy/user/id'; matched case-insensitively, as Graph does */
  fields: Readonly<Record<string, FilterField>>;
  /** collections allowed in `name/any(v: v/prop …)`, with the element properties the predicate may use */
  collections?: Readonly<Record<string, Readonly<Record<string, FilterField>>>>;
}

export const MAX_FILTER_LENGTH = 4096;
const MAX_DEPTH = 24;
const MAX_TERMS = 64;

type Token =
  | { kind: 'word'; text: string; at: number }
  | { kind: 'string'; text: string; at: number }
  | { kind: 'number'; text: string; at: number }
  | { kind: 'datetime'; text: string; at: number }
  | { kind: '(' | ')' | ',' | ':'; at: number };

const invalid = (message: string) => new AppError('request.invalid', { message });
const unsupported = (message: string, data: Record<string, unknown>) => new AppError('request.unsupported_query', { message, data });
const clip = (s: string) => s.slice(0, 64);

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,12})?)?(?:Z|[+-]\d{2}:\d{2})/i;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*(?:\/[A-Za-z_][A-Za-z0-9_]*)*/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/;

export function tokenizeFilter(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',' || c === ':') {
      tokens.push({ kind: c, at: i });
      i += 1;
    } else if (c === "'") {
      const at = i;
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw invalid(`Invalid filter clause: the string literal at position ${at} is not closed with a quote.`);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        value += text[i];
        i += 1;
      }
      tokens.push({ kind: 'string', text: value, at });
    } else {
      const rest = text.slice(i, i + 256);
      const m = DATETIME.exec(rest) ?? WORD.exec(rest) ?? NUMBER.exec(rest);
      if (!m) throw invalid(`Invalid filter clause: unexpected character '${c}' at position ${i}.`);
      const kind = DATETIME.test(m[0]) ? 'datetime' : WORD.test(m[0]) ? 'word' : 'number';
      tokens.push({ kind, text: m[0], at: i });
      i += m[0].length;
    }
  }
  return tokens;
}

/** `2026-11-01T00:00:00Z` (or with an offset, or fractional seconds) → its UTC instant at ms precision. */
export function parseDateTimeOffset(text: string): { value: string; exact: boolean } {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  const bad = () => invalid(`Invalid filter clause: '${clip(text)}' is not a valid DateTimeOffset such as 2026-11-01T00:00:00Z.`);
  if (!m) throw bad();
  const [, y, mo, d, h, mi, s = '00', frac = '', zone] = m;
  const fields = [Number(mo), Number(d), Number(h), Number(mi), Number(s)];
  if (fields[0]! < 1 || fields[0]! > 12 || fields[1]! < 1 || fields[2]! > 23 || fields[3]! > 59 || fields[4]! > 59) throw bad();
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(3, '0').slice(0, 3)}${zone!.toUpperCase()}`;
  const date = new Date(iso);
  // Date rolls 2026-02-30 over to March: refuse what does not exist rather than move it
  const sameDay = new Date(Date.UTC(Number(y), fields[0]! - 1, fields[1])).getUTCDate() === fields[1];
  if (Number.isNaN(date.getTime()) || !sameDay) throw bad();
  const value = date.toISOString();
  if (!/^\d{4}-/.test(value)) throw bad();
  return { value, exact: !/[1-9]/.test(frac.slice(3)) };
}

const COMPARE_OPS = new Set<string>(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const OTHER_OPS = new Set(['in', 'has', 'add', 'sub', 'mul', 'div', 'mod']);
const KNOWN_FUNCTIONS = new Set(['endswith', 'contains', 'substringof', 'tolower', 'toupper', 'length', 'indexof', 'trim', 'concat', 'substring', 'year', 'month', 'day', 'hour', 'minute', 'second', 'date', 'time', 'now', 'cast', 'isof', 'matchespattern']);

/** Parses `$filter` text into an AST that only names properties and operations of the schema. */
export function parseODataFilter(text: string, schema: FilterSchema): FilterNode {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`The $filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const tokens = tokenizeFilter(text);
  if (tokens.length === 0) throw invalid('The $filter is empty.');
  const Entity = schema.entity.charAt(0).toUpperCase() + schema.entity.slice(1);
  const lookup = (fields: Readonly<Record<string, FilterField>>) => new Map(Object.entries(fields).map(([name, f]) => [name.toLowerCase(), { name, ...f }]));
  const topFields = lookup(schema.fields);
  const collections = new Map(Object.entries(schema.collections ?? {}).map(([name, fields]) => [name.toLowerCase(), { name, fields: lookup(fields) }]));
  let pos = 0;
  let terms = 0;
  /** inside a lambda: its variable and the element's properties */
  let scope: { variable: string; fields: ReturnType<typeof lookup> } | null = null;

  const peek = (offset = 0): Token | undefined => tokens[pos + offset];
  const word = (t: Token | undefined): string | undefined => (t?.kind === 'word' ? t.text.toLowerCase() : undefined);
  const expect = (kind: Token['kind'], what: string): Token => {
    const t = tokens[pos];
    if (t?.kind !== kind) throw invalid(`Invalid filter clause: expected ${what}${t ? ` but found ${describe(t)}` : ' but the filter ended'}.`);
    pos += 1;
    return t;
  };
  const countTerm = () => {
    terms += 1;
    if (terms > MAX_TERMS) throw invalid(`The $filter has more than ${MAX_TERMS} conditions.`);
  };

  /** A property path: a top-level property, or `v/prop` inside a lambda over v. */
  const property = (): { name: string } & FilterField => {
    const t = expect('word', 'a property name') as { text: string };
    const raw = t.text;
    if (scope) {
      const [head, ...rest] = raw.split('/');
      const f = head === scope.variable ? scope.fields.get(rest.join('/').toLowerCase()) : undefined;
      if (!f) {
        throw unsupported(`Unsupported or invalid query filter clause specified for property '${clip(raw)}' inside the lambda over '${scope.variable}'.`, { property: clip(raw) });
      }
      return f;
    }
    const f = topFields.get(raw.toLowerCase());
    if (!f) throw unsupported(`Unsupported or invalid query filter clause specified for property '${clip(raw)}' of resource '${Entity}'.`, { property: clip(raw) });
    return f;
  };

  const literal = (field: { name: string } & FilterField, op: string): FilterValue => {
    const t = tokens[pos];
    pos += 1;
    if (field.type === 'string' && t?.kind === 'string') {
      if (field.values && !field.values.includes(t.text.toLowerCase())) {
        throw invalid(`Invalid filter clause: '${clip(t.text)}' is not a value of '${field.name}' (${field.values.join(', ')}).`);
      }
      return { type: 'string', value: t.text };
    }
    if (field.type === 'dateTimeOffset' && t?.kind === 'datetime') return { type: 'dateTimeOffset', ...parseDateTimeOffset(t.text) };
    if (word(t) === 'null') throw unsupported(`Comparing '${field.name}' with null is not supported.`, { property: field.name });
    const wanted = field.type === 'string' ? "a quoted string such as 'text'" : 'an unquoted DateTimeOffset such as 2026-11-01T00:00:00Z';
    throw invalid(`Invalid filter clause: '${field.name} ${op}' needs ${wanted}${t ? ` but found ${describe(t)}` : ' but the filter ended'}.`);
  };

  const lambda = (depth: number, raw: string): FilterNode => {
    const name = raw.slice(0, raw.lastIndexOf('/'));
    const operator = raw.slice(raw.lastIndexOf('/') + 1).toLowerCase();
    const collection = collections.get(name.toLowerCase());
    if (operator !== 'any' || !collection || scope) {
      const what = operator !== 'any' ? `The lambda operator '${operator}'` : scope ? 'A lambda inside a lambda' : `A lambda over '${clip(name)}'`;
      throw unsupported(`${what} is not supported in $filter.`, { property: clip(raw) });
    }
    pos += 2; // the path and '('
    countTerm();
    if (peek()?.kind === ')') {
      pos += 1;
      return { kind: 'any', collection: collection.name, predicate: null };
    }
    const variable = (expect('word', 'a lambda variable') as { text: string }).text;
    if (variable.includes('/')) throw invalid(`Invalid filter clause: '${clip(variable)}' is not a lambda variable name.`);
    expect(':', "':' after the lambda variable");
    scope = { variable, fields: collection.fields };
    const predicate = or(depth + 1);
    scope = null;
    expect(')', "')' closing the lambda");
    return { kind: 'any', collection: collection.name, predicate };
  };

  const unary = (depth: number): FilterNode => {
    if (depth > MAX_DEPTH) throw invalid('Invalid filter clause: the expression is nested too deeply.');
    const t = peek();
    const w = word(t);
    if (t?.kind === '(') {
      pos += 1;
      const inner = or(depth + 1);
      expect(')', "')'");
      return inner;
    }
    if (w === 'not') {
      pos += 1;
      return { kind: 'not', operand: unary(depth + 1) };
    }
    if (t?.kind === 'word' && peek(1)?.kind === '(') {
      if (t.text.includes('/')) return lambda(depth, t.text);
      if (w === 'startswith') {
        pos += 2;
        countTerm();
        const field = property();
        if (field.type !== 'string' || !field.startswith) throw unsupported(`startswith is not supported on property '${field.name}'.`, { property: field.name });
        expect(',', "','");
        const value = literal(field, 'startswith');
        expect(')', "')'");
        return { kind: 'startswith', field: field.name, value: value.value };
      }
      const known = KNOWN_FUNCTIONS.has(w ?? '');
      throw unsupported(`The ${known ? 'function' : 'unknown function'} '${clip(t.text)}' is not supported in $filter; use eq, ne, gt, ge, lt, le or startswith.`, { function: clip(t.text) });
    }
    if (t?.kind !== 'word') throw invalid(`Invalid filter clause: expected a property name${t ? ` but found ${describe(t)}` : ' but the filter ended'}.`);
    countTerm();
    const field = property();
    const op = word(peek());
    if (op === undefined || !(COMPARE_OPS.has(op) || OTHER_OPS.has(op))) {
      throw invalid(`Invalid filter clause: expected an operator after '${field.name}'${peek() ? ` but found ${describe(peek()!)}` : ' but the filter ended'}.`);
    }
    if (!COMPARE_OPS.has(op)) throw unsupported(`The operator '${op}' is not supported in $filter.`, { operator: op });
    if (field.type === 'string' && op !== 'eq' && op !== 'ne') {
      throw unsupported(`The operator '${op}' is not supported on property '${field.name}'; use eq, ne${field.startswith ? ' or startswith' : ''}.`, { property: field.name, operator: op });
    }
    pos += 1;
    return { kind: 'compare', field: field.name, op: op as CompareOp, value: literal(field, op) };
  };

  const and = (depth: number): FilterNode => {
    let left = unary(depth);
    while (word(peek()) === 'and') {
      pos += 1;
      left = { kind: 'and', left, right: unary(depth) };
    }
    return left;
  };

  const or = (depth: number): FilterNode => {
    let left = and(depth);
    while (word(peek()) === 'or') {
      pos += 1;
      left = { kind: 'or', left, right: and(depth) };
    }
    return left;
  };

  const ast = or(0);
  if (pos < tokens.length) throw invalid(`Invalid filter clause: unexpected ${describe(tokens[pos]!)} at position ${tokens[pos]!.at}.`);
  return ast;
}

function describe(t: Token): string {
  if (t.kind === 'word' || t.kind === 'number' || t.kind === 'datetime') return `'${clip(t.text)}'`;
  if (t.kind === 'string') return 'a string literal';
  return `'${t.kind}'`;
}
