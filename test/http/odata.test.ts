import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import {
  buildNextLink,
  decodeSkipToken,
  encodeSkipToken,
  parseCollectionQuery,
  parseEntityQuery,
  parseFilter,
  parseSelect,
  parseTop,
  type CollectionSpec,
} from '../../src/http/odata.js';

const FIELDS = { displayName: 'string', userPrincipalName: 'string', accountEnabled: 'boolean' } as const;
type Field = keyof typeof FIELDS;
const SPEC: CollectionSpec<Field, 'id' | 'displayName' | 'mail'> = {
  entity: 'user',
  filterable: FIELDS,
  selectable: ['id', 'displayName', 'mail'],
  orderable: ['id'],
  defaultTop: 100,
  maxTop: 999,
};

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('$filter parser', () => {
  it.each([
    ["displayName eq 'Adele'", [{ field: 'displayName', op: 'eq', value: 'Adele' }]],
    ["startswith(displayName,'A')", [{ field: 'displayName', op: 'startswith', value: 'A' }]],
    ["  startswith( DisplayName , 'A b' ) ", [{ field: 'displayName', op: 'startswith', value: 'A b' }]],
    ["displayName eq 'O''Brien'", [{ field: 'displayName', op: 'eq', value: "O'Brien" }]],
    ["displayName eq ''", [{ field: 'displayName', op: 'eq', value: '' }]],
    ['accountEnabled eq true', [{ field: 'accountEnabled', op: 'eq', value: true }]],
    ['accountEnabled EQ False', [{ field: 'accountEnabled', op: 'eq', value: false }]],
    [
      "(startswith(userPrincipalName,'a')) and accountEnabled eq true AND displayName eq 'x'",
      [
        { field: 'userPrincipalName', op: 'startswith', value: 'a' },
        { field: 'accountEnabled', op: 'eq', value: true },
        { field: 'displayName', op: 'eq', value: 'x' },
      ],
    ],
  ])('parses %s', (text, expected) => {
    expect(parseFilter(text, FIELDS, 'user')).toEqual(expected);
  });

  it.each([
    ["endswith(displayName,'a')", 'request.unsupported_query', 'endswith'],
    ["contains(displayName,'a')", 'request.unsupported_query', 'contains'],
    ["displayName ne 'a'", 'request.unsupported_query', "'ne'"],
    ["displayName eq 'a' or displayName eq 'b'", 'request.unsupported_query', "'or'"],
    ["not startswith(displayName,'a')", 'request.unsupported_query', "'not'"],
    ["department eq 'Sales'", 'request.unsupported_query', "'department'"],
    ["manager/id eq 'x'", 'request.unsupported_query', "'manager/id'"],
    ['startswith(accountEnabled,true)', 'request.unsupported_query', 'accountEnabled'],
    ['displayName eq null', 'request.unsupported_query', 'null'],
    ["displayName eq 'unterminated", 'request.invalid', 'not closed'],
    ['displayName eq 5', 'request.invalid', 'quoted string'],
    ["accountEnabled eq 'true'", 'request.invalid', 'true or false'],
    ["displayName 'a'", 'request.invalid', 'operator'],
    ["displayName eq 'a' displayName", 'request.invalid', 'unexpected'],
    ["(displayName eq 'a'", 'request.invalid', "')'"],
    ['displayName eq "a"', 'request.invalid', 'unexpected character'],
    ['', 'request.invalid', 'empty'],
    [`displayName eq '${'x'.repeat(3000)}'`, 'request.invalid', 'longer than'],
    [`${'('.repeat(20)}displayName eq 'a'${')'.repeat(20)}`, 'request.invalid', 'nested'],
    [Array.from({ length: 20 }, () => "displayName eq 'a'").join(' and '), 'request.invalid', 'clauses'],
  ])('refuses %s with %s naming %s', (text, code, naming) => {
    const err = errorOf(() => parseFilter(text, FIELDS, 'user'));
    expect(err.code).toBe(code);
    expect(err.message).toContain(naming);
  });
});

describe('$select, $top, $skiptoken, $orderby and the other options', () => {
  it('canonicalises and de-duplicates $select; refuses unknown names', () => {
    expect(parseSelect('DISPLAYNAME, id,displayName', SPEC.selectable, 'user')).toEqual(['displayName', 'id']);
    expect(parseSelect('*', SPEC.selectable, 'user')).toEqual(['id', 'displayName', 'mail']);
    const err = errorOf(() => parseSelect('id,passwordHash', SPEC.selectable, 'user'));
    expect(err.code).toBe('request.invalid');
    expect(err.message).toContain("'passwordHash'");
    expect(errorOf(() => parseSelect('id,,mail', SPEC.selectable, 'user')).message).toContain('empty');
  });

  it.each(['0', '1000', '-1', 'abc', '1.5', '99999999'])('refuses $top=%s', (top) => {
    expect(errorOf(() => parseTop(top, 100, 999)).message).toContain('between 1 and 999');
  });

  it('takes $top from 1 to 999 and defaults to 100', () => {
    expect(parseTop(undefined, 100, 999)).toBe(100);
    expect(parseTop('1', 100, 999)).toBe(1);
    expect(parseTop('999', 100, 999)).toBe(999);
  });

  it('round-trips the skip token and refuses forged ones', () => {
    const id = '0f8fad5b-d9cb-469f-a165-70867728950e';
    expect(decodeSkipToken(encodeSkipToken(id))).toBe(id);
    for (const bad of ['', '!!!', encodeSkipToken("x' or 1=1"), 'a'.repeat(200)]) {
      expect(errorOf(() => decodeSkipToken(bad)).message).toContain('$skiptoken');
    }
  });

  it.each([
    [{ $count: 'true' }, '$count'],
    [{ $search: '"displayName:a"' }, '$search'],
    [{ $expand: 'manager' }, '$expand'],
    [{ $skip: '10' }, '$skip'],
    [{ $orderby: 'displayName' }, 'displayName'],
    [{ $orderby: 'id desc' }, 'id desc'],
    [{ $apply: 'x' }, '$apply'],
  ])('refuses %o as unsupported, naming %s', (query, naming) => {
    const err = errorOf(() => parseCollectionQuery(query, SPEC));
    expect(err.code).toBe('request.unsupported_query');
    expect(err.message).toContain(naming);
  });

  it('accepts $orderby=id, $count=false and ignores custom parameters', () => {
    const q = parseCollectionQuery({ $orderby: 'id asc', $count: 'false', api_version: '1', $TOP: '5' }, SPEC);
    expect(q.top).toBe(5);
    expect(q.carried).toEqual({ $orderby: 'id asc', $top: '5' });
  });

  it('refuses an option given twice', () => {
    expect(errorOf(() => parseCollectionQuery({ $top: ['1', '2'] }, SPEC)).message).toContain('more than once');
    expect(errorOf(() => parseCollectionQuery({ $top: '1', $TOP: '2' }, SPEC)).message).toContain('more than once');
  });

  it('allows only $select on a single entity', () => {
    expect(parseEntityQuery({ $select: 'id' }, SPEC.selectable, 'user')).toEqual({ select: ['id'] });
    expect(errorOf(() => parseEntityQuery({ $filter: "id eq 'x'" }, SPEC.selectable, 'user')).code).toBe('request.unsupported_query');
  });

  it('builds an absolute nextLink that carries the options and parses back to the same query', () => {
    const first = parseCollectionQuery({ $filter: "startswith(displayName,'A & B')", $select: 'id,mail', $top: '2' }, SPEC);
    const link = buildNextLink('https://dir.example', '/v1.0/users', first.carried, 'abc-123');
    expect(link.startsWith('https://dir.example/v1.0/users?')).toBe(true);
    const params = Object.fromEntries(new URL(link).searchParams);
    const next = parseCollectionQuery(params, SPEC);
    expect(next.filter).toEqual(first.filter);
    expect(next.select).toEqual(['id', 'mail']);
    expect(next.top).toBe(2);
    expect(next.afterId).toBe('abc-123');
  });
});
