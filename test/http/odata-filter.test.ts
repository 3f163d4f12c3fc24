import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { parseDateTimeOffset, parseODataFilter, type FilterNode } from '../../src/http/odata-filter.js';
import { DIRECTORY_AUDIT_FILTER } from '../../src/http/routes/graph/audit-logs.js';

const parse = (text: string): FilterNode => parseODataFilter(text, DIRECTORY_AUDIT_FILTER);
const str = (value: string) => ({ type: 'string', value }) as const;
const eq = (field: string, value: string): FilterNode => ({ kind: 'compare', field, op: 'eq', value: str(value) });

function failure(text: string): AppError {
  try {
    parse(text);
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error(`expected '${text}' to be refused`);
}

describe('OData $filter parser', () => {
  it('parses comparisons, canonicalising property names case-insensitively', () => {
    expect(parse("ActivityDisplayName eq 'Add user'")).toEqual(eq('activityDisplayName', 'Add user'));
    expect(parse("initiatedby/USER/userprincipalname ne 'a@b.test'")).toEqual({
      kind: 'compare',
      field: 'initiatedBy/user/userPrincipalName',
      op: 'ne',
      value: str('a@b.test'),
    });
    expect(parse("category eq 'it''s'")).toEqual(eq('category', "it's"));
  });

  it("binds not tighter than and, and and tighter than or; parentheses override", () => {
    const a = eq('category', 'a');
    const b = eq('category', 'b');
    const c = eq('category', 'c');
    expect(parse("category eq 'a' or category eq 'b' and category eq 'c'")).toEqual({ kind: 'or', left: a, right: { kind: 'and', left: b, right: c } });
    expect(parse("(category eq 'a' or category eq 'b') and category eq 'c'")).toEqual({ kind: 'and', left: { kind: 'or', left: a, right: b }, right: c });
    expect(parse("not category eq 'a' and category eq 'b'")).toEqual({ kind: 'and', left: { kind: 'not', operand: a }, right: b });
    expect(parse("not (category eq 'a' or category eq 'b')")).toEqual({ kind: 'not', operand: { kind: 'or', left: a, right: b } });
  });

  it('parses startswith and targetResources/any lambdas, with any variable name', () => {
    expect(parse("startswith(activityDisplayName, 'Reset')")).toEqual({ kind: 'startswith', field: 'activityDisplayName', value: 'Reset' });
    expect(parse("targetResources/any(x: x/id eq 'abc' or startswith(x/userPrincipalName,'al'))")).toEqual({
      kind: 'any',
      collection: 'targetResources',
      predicate: { kind: 'or', left: eq('id', 'abc'), right: { kind: 'startswith', field: 'userPrincipalName', value: 'al' } },
    });
    expect(parse('targetResources/any()')).toEqual({ kind: 'any', collection: 'targetResources', predicate: null });
  });

  it('reads unquoted DateTimeOffset literals as UTC instants, noting precision finer than stored', () => {
    expect(parse('activityDateTime ge 2026-11-01T00:00:00Z')).toEqual({
      kind: 'compare',
      field: 'activityDateTime',
      op: 'ge',
      value: { type: 'dateTimeOffset', value: '2026-11-01T00:00:00.000Z', exact: true },
    });
    expect(parseDateTimeOffset('2026-11-01T02:30:00+02:00')).toEqual({ value: '2026-11-01T00:30:00.000Z', exact: true });
    expect(parseDateTimeOffset('2026-11-01T00:00:00.1234567Z')).toEqual({ value: '2026-11-01T00:00:00.123Z', exact: false });
    expect(parseDateTimeOffset('2026-11-01T00:00:00.1230000Z')).toEqual({ value: '2026-11-01T00:00:00.123Z', exact: true });
    expect(parseDateTimeOffset('2026-11-01T00:00Z')).toEqual({ value: '2026-11-01T00:00:00.000Z', exact: true });
  });

  const refused: [string, 'request.invalid' | 'request.unsupported_query', string][] = [
    ["foo eq 'x'", 'request.unsupported_query', "'foo'"],
    ["initiatedBy/user/mail eq 'x'", 'request.unsupported_query', "'initiatedBy/user/mail'"],
    ["endswith(activityDisplayName,'x')", 'request.unsupported_query', "'endswith'"],
    ["contains(activityDisplayName,'x')", 'request.unsupported_query', "'contains'"],
    ["frobnicate(activityDisplayName,'x')", 'request.unsupported_query', "'frobnicate'"],
    ["startswith(result,'s')", 'request.unsupported_query', "'result'"],
    ['startswith(activityDateTime,2026-01-01T00:00:00Z)', 'request.unsupported_query', "'activityDateTime'"],
    ["activityDisplayName gt 'a'", 'request.unsupported_query', "'gt'"],
    ["activityDisplayName in ('a','b')", 'request.unsupported_query', "'in'"],
    ['activityDisplayName eq null', 'request.unsupported_query', 'null'],
    ["targetResources/all(t: t/id eq 'x')", 'request.unsupported_query', "'all'"],
    ["targetResources/any(t: t/displayName eq 'x')", 'request.unsupported_query', "'t/displayName'"],
    ["targetResources/any(t: activityDisplayName eq 'x')", 'request.unsupported_query', "'activityDisplayName'"],
    ["targetResources/any(t: t/id eq 'x' and targetResources/any(u: u/id eq 'y'))", 'request.unsupported_query', 'inside a lambda'],
    ["additionalDetails/any(d: d/key eq 'x')", 'request.unsupported_query', "'additionalDetails'"],
    ["activityDateTime ge '2026-11-01T00:00:00Z'", 'request.invalid', 'DateTimeOffset'],
    ['activityDateTime ge 2026-13-01T00:00:00Z', 'request.invalid', "'2026-13-01T00:00:00Z'"],
    ['activityDateTime ge 2026-02-30T00:00:00Z', 'request.invalid', "'2026-02-30T00:00:00Z'"],
    ['activityDateTime ge 2026-11-01', 'request.invalid', 'DateTimeOffset'],
    ['activityDisplayName eq 5', 'request.invalid', 'quoted string'],
    ["result eq 'bogus'", 'request.invalid', "'bogus'"],
    ["activityDisplayName eq 'x", 'request.invalid', 'not closed'],
    ["(activityDisplayName eq 'x'", 'request.invalid', "')'"],
    ["activityDisplayName eq 'x')", 'request.invalid', "')'"],
    ["activityDisplayName 'x'", 'request.invalid', 'operator'],
    ["activityDisplayName eq 'x' and", 'request.invalid', 'ended'],
    ["activityDisplayName eq 'x' xor result eq 'success'", 'request.invalid', "'xor'"],
    ['', 'request.invalid', 'empty'],
    ['#', 'request.invalid', "'#'"],
  ];

  it.each(refused)('refuses %s with %s naming %s', (text, code, named) => {
    const err = failure(text);
    expect(err.code).toBe(code);
    expect(err.status).toBe(400);
    expect(err.message).toContain(named);
  });

  it('refuses filters that are too long, too deep or have too many conditions', () => {
    expect(failure(`activityDisplayName eq '${'x'.repeat(5000)}'`).message).toContain('longer than');
    expect(failure(`${'('.repeat(40)}category eq 'a'${')'.repeat(40)}`).message).toContain('nested too deeply');
    expect(failure(Array.from({ length: 70 }, () => "category eq 'a'").join(' or ')).message).toContain('more than 64');
    expect(failure(`${'not '.repeat(40)}category eq 'a'`).message).toContain('nested too deeply');
  });

  it('never throws anything but a 400 AppError, whatever the text', () => {
    const pieces = fc.constantFrom(
      'activityDisplayName', 'activityDateTime', 'initiatedBy/user/id', 'targetResources/any', 'targetResources/all', 't/id', 't/userPrincipalName', 't',
      'result', 'startswith', 'endswith', 'eq', 'ne', 'ge', 'gt', 'and', 'or', 'not', 'null', '(', ')', ',', ':', "'a'", "'it''s'", "'", '2026-11-01T00:00:00Z',
      '2026-02-30T00:00:00.1234Z', '-5', '1e9', '/', ' ', '%', '$', 'é', '\u0000',
    );
    const grammarish = fc.array(pieces, { maxLength: 30 }).map((p) => p.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), grammarish), (text) => {
        try {
          parse(text);
        } catch (err) {
          if (!(err instanceof AppError) || err.status !== 400) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
