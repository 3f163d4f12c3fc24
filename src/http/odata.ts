import { AppError } from '../errors.js';

/**
 * The OData subset Graph clients send to collection and entity resources: `$filter` (eq and
 * startswith joined by `and`), `$select`, `$top`, `$skiptoken` and `$orderby` on the key. Anything
 * else is refused with Request_UnsupportedQuery naming it, so a client never silently receives
 * unfiltered or differently ordered data. Property names match case-insensitively, as in Graph.
 */

export type FieldType = 'string' | 'boolean';

export interface FilterClause<F extends string = string> {
  field: F;
  op: 'eq' | 'startswith';
  value: string | boolean;
}

export interface CollectionSpec<F extends string, S extends string> {
  /** the entity type named in messages, e.g. 'user' (microsoft.graph.user) */
  entity: string;
  filterable: Readonly<Record<F, FieldType>>;
  selectable: readonly S[];
  /** `$orderby` values accepted: the list is always ordered by id, so only `id` is honest */
  orderable: readonly string[];
  defaultTop: number;
  maxTop: number;
}

export interface CollectionQuery<F extends string, S extends string> {
  filter: FilterClause<F>[];
  select: S[] | undefined;
  top: number;
  /** decoded $skiptoken: continue after this id */
  afterId: string | undefined;
  /** the options to repeat in @odata.nextLink, as the client sent them */
  carried: { $filter?: string; $select?: string; $orderby?: string; $top: string };
}

const KNOWN_OPTIONS = ['$filter', '$select', '$top', '$skiptoken', '$orderby', '$count', '$search', '$expand', '$skip', '$format'];
const MAX_FILTER_LENGTH = 2048;
const MAX_CLAUSES = 16;
const MAX_DEPTH = 8;

const unsupported = (message: string, data?: Record<string, unknown>) => new AppError('request.unsupported_query', { message, ...(data ? { data } : {}) });
const invalid = (message: string) => new AppError('request.invalid', { message });

/** The query options by lower-cased `$name`; custom (non-$) parameters are ignored, as OData allows. */
export function systemOptions(query: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (query === null || typeof query !== 'object') return out;
  for (const [rawName, rawValue] of Object.entries(query as Record<string, unknown>)) {
    if (!rawName.startsWith('$')) continue;
    const name = rawName.toLowerCase();
    if (!KNOWN_OPTIONS.includes(name)) throw unsupported(`Query option '${rawName.slice(0, 40)}' is not supported.`, { option: rawName.slice(0, 40) });
    if (out.has(name) || typeof rawValue !== 'string') throw invalid(`Query option '${name}' was specified more than once.`);
    out.set(name, rawValue);
  }
  return out;
}

/** A collection GET: everything in the subset. */
export function parseCollectionQuery<F extends string, S extends string>(query: unknown, spec: CollectionSpec<F, S>): CollectionQuery<F, S> {
  const options = systemOptions(query);
  rejectUnsupported(options, ['$count', '$search', '$expand', '$skip', '$format']);
  const filterText = options.get('$filter');
  const selectText = options.get('$select');
  const orderText = options.get('$orderby');
  if (orderText !== undefined) parseOrderBy(orderText, spec);
  const top = parseTop(options.get('$top'), spec.defaultTop, spec.maxTop);
  const skip = options.get('$skiptoken');
  return {
    filter: filterText === undefined ? [] : parseFilter(filterText, spec.filterable, spec.entity),
    select: selectText === undefined ? undefined : parseSelect(selectText, spec.selectable, spec.entity),
    top,
    afterId: skip === undefined ? undefined : decodeSkipToken(skip),
    carried: {
      ...(filterText !== undefined ? { $filter: filterText } : {}),
      ...(selectText !== undefined ? { $select: selectText } : {}),
      ...(orderText !== undefined ? { $orderby: orderText } : {}),
      $top: String(top),
    },
  };
}

/** A single-entity GET: only `$select` applies. */
export function parseEntityQuery<S extends string>(query: unknown, selectable: readonly S[], entity: string): { select: S[] | undefined } {
  const options = systemOptions(query);
  rejectUnsupported(options, ['$filter', '$top', '$skiptoken', '$orderby', '$count', '$search', '$expand', '$skip', '$format']);
  const selectText = options.get('$select');
  return { select: selectText === undefined ? undefined : parseSelect(selectText, selectable, entity) };
}

function rejectUnsupported(options: Map<string, string>, names: string[]): void {
  for (const name of names) {
    if (!options.has(name)) continue;
    // `$count=false` asks for nothing; the other options change the answer, so refuse them
    if (name === '$count' && options.get(name)?.toLowerCase() === 'false') continue;
    throw unsupported(`Query option '${name}' is not supported on this resource.`, { option: name });
  }
}

export function parseTop(text: string | undefined, defaultTop: number, maxTop: number): number {
  if (text === undefined) return defaultTop;
  const n = /^\d{1,6}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > maxTop) {
    throw invalid(`Invalid page size specified: '${text.slice(0, 20)}'. Must be between 1 and ${maxTop} inclusive.`);
  }
  return n;
}

export function parseSelect<S extends string>(text: string, selectable: readonly S[], entity: string): S[] {
  const byLower = new Map(selectable.map((s) => [s.toLowerCase(), s]));
  const names = text.split(',').map((s) => s.trim());
  if (names.length === 1 && names[0] === '*') return [...selectable];
  const out: S[] = [];
  for (const name of names) {
    if (name === '') throw invalid("The $select list has an empty entry.");
    const canonical = byLower.get(name.toLowerCase());
    if (!canonical) {
      throw invalid(`Parsing OData Select and Expand failed: Could not find a property named '${name.slice(0, 64)}' on type 'microsoft.graph.${entity}'.`);
    }
    if (!out.includes(canonical)) out.push(canonical);
  }
  return out;
}

function parseOrderBy(text: string, spec: CollectionSpec<string, string>): void {
  const m = /^\s*([A-Za-z][A-Za-z0-9]*)(?:\s+(asc|desc))?\s*$/i.exec(text);
  const field = m?.[1] ?? '';
  if (!m || !spec.orderable.some((o) => o.toLowerCase() === field.toLowerCase()) || m[2]?.toLowerCase() === 'desc') {
    throw unsupported(`Sorting by '${text.slice(0, 64)}' is not supported; ${spec.entity} lists are ordered by ${spec.orderable.join(', ')} ascending.`, {
      option: '$orderby',
    });
  }
}

/** Opaque to clients: base64url of the last id of the previous page (keyset paging). */
export function encodeSkipToken(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

export function decodeSkipToken(token: string): string {
  const id = /^[A-Za-z0-9_-]{1,128}$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!/^[0-9a-f-]{1,64}$/.test(id)) throw invalid('The $skiptoken is not valid. Follow @odata.nextLink exactly as it was returned.');
  return id;
}

/** Absolute, from PUBLIC_URL, carrying the client's options plus the next $skiptoken. */
export function buildNextLink(publicUrl: string, path: string, carried: Record<string, string | undefined>, lastId: string): string {
  const parts = Object.entries({ ...carried, $skiptoken: encodeSkipToken(lastId) })
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`);
  return `${publicUrl}${path}?${parts.join('&')}`;
}

// ---- $filter ---------------------------------------------------------------------------------

type Token = { kind: 'word'; text: string } | { kind: 'string'; text: string } | { kind: 'number'; text: string } | { kind: '(' | ')' | ',' };

export function tokenizeFilter(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: c });
      i += 1;
    } else if (c === "'") {
      let value = '';
      i += 1;
      for (;;) {
        if (i >= text.length) throw invalid('Invalid filter clause: a string literal is not closed with a quote.');
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
      tokens.push({ kind: 'string', text: value });
    } else {
      const m = /^(?:[A-Za-z_][A-Za-z0-9_./]*|-?\d+(?:\.\d+)?)/.exec(text.slice(i));
      if (!m) throw invalid(`Invalid filter clause: unexpected character '${c}' at position ${i}.`);
      tokens.push({ kind: /^[-\d]/.test(m[0]) ? 'number' : 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

const UNSUPPORTED_OPERATORS = new Set(['ne', 'gt', 'ge', 'lt', 'le', 'in', 'has']);
const UNSUPPORTED_FUNCTIONS = new Set(['endswith', 'contains', 'substringof', 'tolower', 'toupper', 'any', 'all', 'length', 'indexof', 'trim', 'concat']);

/** Parses `$filter` into clauses that all must hold. */
export function parseFilter<F extends string>(text: string, fields: Readonly<Record<F, FieldType>>, entity: string): FilterClause<F>[] {
  if (text.length > MAX_FILTER_LENGTH) throw invalid(`The $filter is longer than ${MAX_FILTER_LENGTH} characters.`);
  const tokens = tokenizeFilter(text);
  if (tokens.length === 0) throw invalid('The $filter is empty.');
  const byLower = new Map<string, F>((Object.keys(fields) as F[]).map((f) => [f.toLowerCase(), f]));
  let pos = 0;
  const clauses: FilterClause<F>[] = [];
  const Entity = entity.charAt(0).toUpperCase() + entity.slice(1);

  const peek = (): Token | undefined => tokens[pos];
  const word = (t: Token | undefined): string | undefined => (t?.kind === 'word' ? t.text.toLowerCase() : undefined);
  const expect = (kind: Token['kind'], what: string): Token => {
    const t = tokens[pos];
    if (t?.kind !== kind) throw invalid(`Invalid filter clause: expected ${what}${t ? ` but found ${describe(t)}` : ' but the filter ended'}.`);
    pos += 1;
    return t;
  };
  const property = (): F => {
    const t = expect('word', 'a property name') as { text: string };
    const f = byLower.get(t.text.toLowerCase());
    if (!f) {
      throw unsupported(`Unsupported or invalid query filter clause specified for property '${t.text.slice(0, 64)}' of resource '${Entity}'.`, {
        property: t.text.slice(0, 64),
      });
    }
    return f;
  };
  const literal = (field: F, op: string): string | boolean => {
    const t = tokens[pos];
    pos += 1;
    const type = fields[field];
    if (t?.kind === 'string' && type === 'string') return t.text;
    if (t?.kind === 'word' && type === 'boolean' && ['true', 'false'].includes(t.text.toLowerCase())) return t.text.toLowerCase() === 'true';
    if (word(t) === 'null') throw unsupported(`Comparing '${field}' with null is not supported.`, { property: field });
    throw invalid(
      `Invalid filter clause: '${field} ${op}' needs ${type === 'string' ? "a quoted string such as 'text'" : 'true or false'}${t ? ` but found ${describe(t)}` : ''}.`,
    );
  };

  const term = (depth: number): void => {
    if (depth > MAX_DEPTH) throw invalid('Invalid filter clause: parentheses are nested too deeply.');
    const t = peek();
    if (t?.kind === '(') {
      pos += 1;
      expression(depth + 1);
      expect(')', "')'");
      return;
    }
    const w = word(t);
    if (w === 'not') throw unsupported("The operator 'not' is not supported in $filter.", { operator: 'not' });
    if (w === 'startswith' && tokens[pos + 1]?.kind === '(') {
      pos += 2;
      const field = property();
      if (fields[field] !== 'string') throw unsupported(`startswith is not supported on property '${field}'.`, { property: field });
      expect(',', "','");
      const value = literal(field, 'startswith');
      expect(')', "')'");
      clauses.push({ field, op: 'startswith', value });
      return;
    }
    if (w !== undefined && UNSUPPORTED_FUNCTIONS.has(w) && tokens[pos + 1]?.kind === '(') {
      throw unsupported(`The function '${w}' is not supported in $filter; use eq or startswith.`, { function: w });
    }
    const field = property();
    const op = word(peek());
    if (op === undefined || (op !== 'eq' && !UNSUPPORTED_OPERATORS.has(op))) {
      throw invalid(`Invalid filter clause: expected an operator after '${field}'${peek() ? ` but found ${describe(peek()!)}` : ''}.`);
    }
    if (op !== 'eq') throw unsupported(`The operator '${op}' is not supported in $filter; use eq or startswith.`, { operator: op });
    pos += 1;
    clauses.push({ field, op: 'eq', value: literal(field, 'eq') });
  };

  const expression = (depth: number): void => {
    term(depth);
    for (;;) {
      const w = word(peek());
      if (w === 'and') {
        pos += 1;
        term(depth);
      } else if (w === 'or') {
        throw unsupported("The operator 'or' is not supported in $filter; combine clauses with 'and'.", { operator: 'or' });
      } else {
        return;
      }
      if (clauses.length > MAX_CLAUSES) throw invalid(`The $filter has more than ${MAX_CLAUSES} clauses.`);
    }
  };

  expression(0);
  if (pos < tokens.length) throw invalid(`Invalid filter clause: unexpected ${describe(tokens[pos]!)}.`);
  return clauses;
}

function describe(t: Token): string {
  if (t.kind === 'word' || t.kind === 'number') return `'${t.text.slice(0, 40)}'`;
  if (t.kind === 'string') return 'a string literal';
  return `'${t.kind}'`;
}
