import { describe, expect, it } from 'vitest';
import { assertSecureConnection, escapeFilterValue } from '../../agent/ldap-connect.js';
import { DirectoryRefusal } from '../../agent/target.js';

describe('escapeFilterValue (RFC 4515)', () => {
  it.each([
    ['alice', 'alice'],
    ['*)(uid=*', '\\2a\\29\\28uid=\\2a'],
    ['a\\b', 'a\\5cb'],
    ['nul\u0000byte', 'nul\\00byte'],
    ['tab\there', 'tab\\09here'],
    ['jösé', 'jösé'],
    ['名前', '名前'],
  ])('%j → %j', (input, expected) => {
    expect(escapeFilterValue(input)).toBe(expected);
  });
});

describe('assertSecureConnection', () => {
  it('accepts ldaps:// and ldap:// with StartTLS', () => {
    expect(() => assertSecureConnection({ url: 'ldaps://dc.example.test:636', startTls: false })).not.toThrow();
    expect(() => assertSecureConnection({ url: 'ldap://dc.example.test:389', startTls: true })).not.toThrow();
  });
  it.each(['ldap://dc.example.test:389', 'http://dc.example.test', 'not a url'])('refuses %s', (url) => {
    expect(() => assertSecureConnection({ url, startTls: false })).toThrow(DirectoryRefusal);
  });
});
