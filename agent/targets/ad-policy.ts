import type { Client } from 'ldapts';
import { DirectoryRefusal, type EffectivePolicy } from '../target.js';

/**
 * The password policy AD applies to one user: the winning fine-grained PSO (the user's constructed
 * msDS-ResultantPSO) when there is one, else the domain object's policy. Ages are stored as negative
 * counts of 100-ns intervals. Only length and complexity can be checked before writing; history and
 * age are the DC's to decide.
 */

export interface AdPolicy extends EffectivePolicy {
  /** false when a PSO applies but the service account cannot read it: then no pre-flight */
  authoritative: boolean;
}

const first = (v: unknown): string | null => {
  const one: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof one === 'string') return one;
  return Buffer.isBuffer(one) ? one.toString('utf8') : null;
};
const int = (v: unknown): number | null => {
  const s = first(v);
  if (s === null || !/^-?\d+$/.test(s)) return null;
  return Number(s);
};
/** AD interval (negative 100-ns ticks, or "-9223372036854775808" = never) → whole seconds */
export function intervalToSeconds(v: unknown): number {
  const s = first(v);
  if (s === null || !/^-?\d+$/.test(s)) return 0;
  const ticks = BigInt(s);
  if (ticks === -9223372036854775808n) return 0;
  const abs = ticks < 0n ? -ticks : ticks;
  return Number(abs / 10_000_000n);
}
const bool = (v: unknown): boolean => /^true$/i.test(first(v) ?? '');

export async function readDomainPolicy(client: Client, baseDn: string): Promise<AdPolicy> {
  // the policy lives on the domain object: a base DN that is an OU (a narrower sync scope) reads it from its DC= part
  const at = baseDn.search(/,\s*dc=/i);
  const domainDn = /^\s*dc=/i.test(baseDn) || at < 0 ? baseDn : baseDn.slice(at + 1).trim();
  const { searchEntries } = await client.search(domainDn, { scope: 'base', filter: '(objectClass=*)', attributes: ['minPwdLength', 'pwdHistoryLength', 'minPwdAge', 'pwdProperties'] });
  const d: Record<string, unknown> = searchEntries[0] ?? {};
  return {
    minLength: int(d['minPwdLength']) ?? 0,
    historyLength: int(d['pwdHistoryLength']) ?? 0,
    minAgeSeconds: intervalToSeconds(d['minPwdAge']),
    complexity: ((int(d['pwdProperties']) ?? 0) & 1) === 1, // DOMAIN_PASSWORD_COMPLEX
    source: 'domain policy',
    authoritative: true,
  };
}

/** The user's effective policy; `resultantPso` is the user's msDS-ResultantPSO value (or null). */
export async function readEffectivePolicy(client: Client, domainDn: string, resultantPso: string | null): Promise<AdPolicy> {
  const domain = await readDomainPolicy(client, domainDn);
  if (!resultantPso) return domain;
  const { searchEntries } = await client.search(resultantPso, {
    scope: 'base',
    filter: '(objectClass=*)',
    attributes: ['msDS-MinimumPasswordLength', 'msDS-PasswordHistoryLength', 'msDS-MinimumPasswordAge', 'msDS-PasswordComplexityEnabled'],
  });
  const p: Record<string, unknown> = searchEntries[0] ?? {};
  const minLength = int(p['msDS-MinimumPasswordLength']);
  if (minLength === null) {
    // AD hides PSO attributes from accounts without read rights on the Password Settings Container
    return { ...domain, source: `domain policy (PSO ${resultantPso} applies but the service account cannot read it)`, authoritative: false };
  }
  return {
    minLength,
    historyLength: int(p['msDS-PasswordHistoryLength']) ?? 0,
    minAgeSeconds: intervalToSeconds(p['msDS-MinimumPasswordAge']),
    complexity: bool(p['msDS-PasswordComplexityEnabled']),
    source: `PSO ${resultantPso}`,
    authoritative: true,
  };
}

/**
 * AD's complexity rule: characters from at least three of upper case, lower case, digits,
 * non-alphanumeric, and other Unicode letters. Windows also refuses a password containing the
 * account name; Samba 4.17 does not (tried), so that rule is left to the DC — a pre-flight must
 * never be stricter than the directory.
 */
export function complexityProblem(password: string): string | null {
  let upper = 0;
  let lower = 0;
  let digit = 0;
  let special = 0;
  let other = 0;
  for (const ch of password) {
    if (/[0-9]/.test(ch)) digit = 1;
    else if (/[A-Z]/.test(ch)) upper = 1;
    else if (/[a-z]/.test(ch)) lower = 1;
    else if (/\p{Lu}/u.test(ch)) upper = 1; // AD counts cased non-ASCII letters as upper / lower case
    else if (/\p{Ll}/u.test(ch)) lower = 1;
    else if (/[\x20-\x7e]/.test(ch)) special = 1; // ASCII symbols and space
    else other = 1; // other letters; Samba also counts any other non-ASCII character here (lenient on purpose)
  }
  const classes = upper + lower + digit + special + other;
  if (classes < 3) return `it uses ${classes} of the character classes (upper case, lower case, digits, symbols, other letters); at least 3 are required`;
  return null;
}

/** Pre-flight: refuse a password the policy certainly rejects, before anything is written. */
export function preflight(policy: AdPolicy, password: string): void {
  if (!policy.authoritative) return;
  const length = password.length; // UTF-16 code units, as AD counts (Samba 4.17: "Ab1😀😀" is 7 long, tried)
  if (length < policy.minLength) throw new DirectoryRefusal('tooShort', `the password must be at least ${policy.minLength} characters long (${policy.source})`);
  if (policy.complexity) {
    const problem = complexityProblem(password);
    if (problem) throw new DirectoryRefusal('notComplex', `the password does not meet the complexity requirement: ${problem} (${policy.source})`);
  }
}
