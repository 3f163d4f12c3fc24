import { createRequire } from 'node:module';

/**
 * Banned passwords, evaluated the way Azure describes it (reference/azure-password-management.md
 * §7.3): normalise, find banned terms in the password with fuzzy matching at edit distance 1,
 * score 1 per banned term + 1 per remaining character, accept at 5 or more. Pure: the global list is
 * the only state, built once on first use and never changed.
 */

/** Banned terms are base words: shorter ones would match inside nearly every password. */
export const MIN_TERM_LENGTH = 4;
export const ACCEPT_SCORE = 5;

/** Azure's normalisation: lower case, then 0→o 1→l $→s @→a. NFKC first, so look-alike forms fold. */
export function normalizeForBannedCheck(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/[01$@]/g, (c) => SUBSTITUTIONS[c] ?? c);
}
const SUBSTITUTIONS: Record<string, string> = { '0': 'o', '1': 'l', $: 's', '@': 'a' };

/**
 * A list of terms ready for fuzzy lookup. `wildcard` holds every term with one position replaced by
 * WILD: a substring s is within one substitution of a term iff s with some position wildcarded is in
 * it, and s is a term with one character deleted iff s with WILD inserted somewhere is in it. One set
 * answers both, so a lookup is O(length) set probes instead of a scan of the list.
 */
export interface BannedTermIndex {
  readonly exact: ReadonlySet<string>;
  readonly wildcard: ReadonlySet<string>;
  readonly maxLength: number;
  readonly size: number;
  /** every term's length with its first two characters, and with its last two (see endsKey) */
  readonly heads: ReadonlySet<number>;
  readonly tails: ReadonlySet<number>;
}

/** A term length and two UTF-16 units as one number, so a probe builds no string. */
const endsKey = (length: number, a: number, b: number): number => (length * 65_536 + a) * 65_536 + b;

/**
 * Can a term of `length` be within one edit of `s` (4+ units)? One edit changes one position, so it
 * leaves the first two characters or the last two alone: a substitution at 0–1 keeps the last two, a
 * character missing from the term at 0–1 keeps the last two, one inserted at position 1 (the only
 * inside position below 2) keeps the last two; anything later keeps the first two. So a term that
 * matches shares its length and its head or its tail with `s`. Two number probes instead of a dozen
 * string probes: most substrings a password's search tries (long ones above all) stop here.
 */
function mayMatchLength(index: BannedTermIndex, s: string, length: number): boolean {
  const n = s.length;
  return index.heads.has(endsKey(length, s.charCodeAt(0), s.charCodeAt(1))) || index.tails.has(endsKey(length, s.charCodeAt(n - 2), s.charCodeAt(n - 1)));
}

/** NUL never reaches the matcher: the policy rejects it before (and custom terms may not hold it). */
const WILD = '\u0000';

export function buildBannedTermIndex(terms: Iterable<string>): BannedTermIndex {
  const exact = new Set<string>();
  const wildcard = new Set<string>();
  const heads = new Set<number>();
  const tails = new Set<number>();
  let maxLength = 0;
  for (const raw of terms) {
    const term = normalizeForBannedCheck(raw.trim());
    if (term.length < MIN_TERM_LENGTH || term.includes(WILD) || exact.has(term)) continue;
    exact.add(term);
    const n = term.length;
    maxLength = Math.max(maxLength, n);
    heads.add(endsKey(n, term.charCodeAt(0), term.charCodeAt(1)));
    tails.add(endsKey(n, term.charCodeAt(n - 2), term.charCodeAt(n - 1)));
    for (let i = 0; i < n; i += 1) wildcard.add(term.slice(0, i) + WILD + term.slice(i + 1));
  }
  return { exact, wildcard, maxLength, size: exact.size, heads, tails };
}

/** How often the global list was built (a test asserts it happens once per process). */
export const bannedListStats = { globalLoads: 0 };
let globalIndex: BannedTermIndex | undefined;

/**
 * The global banned list: @zxcvbn-ts/language-common's common passwords (~49,000 terms of 4+
 * characters after normalisation), built on first use. Required lazily so a process that never
 * checks a password never pays for decompressing the dictionary (~70 ms, ~20 MB of sets).
 */
export function globalBannedTerms(): BannedTermIndex {
  if (globalIndex === undefined) {
    const require = createRequire(import.meta.url);
    const common = require('@zxcvbn-ts/language-common') as { dictionary: { 'passwords-common': string[] } };
    globalIndex = buildBannedTermIndex(common.dictionary['passwords-common']);
    bannedListStats.globalLoads += 1;
  }
  return globalIndex;
}

/** Custom lists are small (≤ 1000 terms) but read per request: keep the last few built. */
const customCache = new Map<string, BannedTermIndex>();
export function customBannedTerms(terms: readonly string[]): BannedTermIndex {
  const key = terms.join('\n');
  let index = customCache.get(key);
  if (index === undefined) {
    index = buildBannedTermIndex(terms);
    if (customCache.size >= 32) customCache.delete(customCache.keys().next().value!);
    customCache.set(key, index);
  }
  return index;
}

/**
 * Is `s` within edit distance 1 of a term? Substitution anywhere, deletion anywhere, insertion only
 * strictly inside the term: a character added at either end is just the term followed (or preceded)
 * by one more character, which the score already counts as "1 per remaining character". Counting it
 * as part of the term would make Azure's own example fail ("contosoblankf9!" would score 4 through
 * "blankf"), so "blank"+"f" is two points, not one.
 */
export function fuzzyMatches(index: BannedTermIndex, s: string): boolean {
  const n = s.length;
  if (n < MIN_TERM_LENGTH || n > index.maxLength + 1) return false;
  if (index.exact.has(s)) return true;
  const { wildcard, exact } = index;
  // a term of n with one character substituted
  if (n <= index.maxLength && mayMatchLength(index, s, n)) {
    for (let i = 0; i < n; i += 1) if (wildcard.has(s.slice(0, i) + WILD + s.slice(i + 1))) return true;
  }
  // a term of n + 1 with one character missing
  if (n + 1 <= index.maxLength && mayMatchLength(index, s, n + 1)) {
    for (let i = 0; i <= n; i += 1) if (wildcard.has(s.slice(0, i) + WILD + s.slice(i))) return true;
  }
  // a term of n − 1 with one character inserted inside it
  if (n - 1 >= MIN_TERM_LENGTH && mayMatchLength(index, s, n - 1)) {
    for (let i = 1; i < n - 1; i += 1) if (exact.has(s.slice(0, i) + s.slice(i + 1))) return true;
  }
  return false;
}

export interface BannedMatch {
  /** the part of the normalised password that matched (not the list's term: that stays private) */
  readonly text: string;
  readonly list: 'global' | 'custom';
}

export interface BannedEvaluation {
  /** 1 per banned term found + 1 per other character, exact below 5; 5 means "5 or more" */
  readonly score: number;
  readonly accepted: boolean;
  /** the matches of the lowest-scoring split (empty when the password scores 5 or more) */
  readonly matches: readonly BannedMatch[];
}

/**
 * Scores a normalised password. Segmentation: the password is split into banned-term matches and
 * single leftover characters so that the score is the LOWEST possible (dynamic programming over
 * positions from the right, not a greedy left-to-right scan). The lowest score is what an attacker
 * who knows the list faces, and it does not depend on the order terms happen to be tried in: a
 * greedy scan taking the first or longest match can swallow the start of a better one. Ties prefer
 * a custom-list match, so the user is told that their administrator blocked the word.
 *
 * Only "is it below 5?" decides anything, so a split that cannot get below 5 is never looked up:
 * a segment is tried only if the points before it (at least one per longest-match characters) plus
 * the segment plus the best of what follows stay under 5. Values on a split that could total under
 * 5 are therefore exact, the others are upper bounds that never matter. That keeps a long password
 * cheap (and one of 5 × (longest term + 1) characters or more needs no lookup at all).
 */
export function scoreBannedPassword(normalized: string, lists: { global: BannedTermIndex; custom?: BannedTermIndex | undefined }): BannedEvaluation {
  const custom = lists.custom && lists.custom.size > 0 ? lists.custom : undefined;
  const longest = Math.max(lists.global.maxLength, custom?.maxLength ?? 0) + 1;
  const n = normalized.length;
  if (n >= ACCEPT_SCORE * longest) return { score: ACCEPT_SCORE, accepted: true, matches: [] };
  // best[i]: lowest score of normalized[i..] (exact while below ACCEPT_SCORE); step[i]: its first segment
  const best = new Array<number>(n + 1).fill(0);
  const step = new Array<{ end: number; list: 'global' | 'custom' | null }>(n + 1);
  for (let i = n - 1; i >= 0; i -= 1) {
    best[i] = best[i + 1]! + 1;
    step[i] = { end: i + 1, list: null };
    // whatever precedes i costs at least one point per `longest` characters
    const prefixAtLeast = Math.ceil(i / longest);
    for (let j = i + MIN_TERM_LENGTH; j <= Math.min(n, i + longest); j += 1) {
      const candidate = best[j]! + 1;
      if (prefixAtLeast + candidate >= ACCEPT_SCORE || candidate > best[i]!) continue;
      if (candidate === best[i]! && step[i]!.list === 'custom') continue;
      const s = normalized.slice(i, j);
      const list = custom && fuzzyMatches(custom, s) ? 'custom' : fuzzyMatches(lists.global, s) ? 'global' : null;
      if (list === null || (candidate === best[i]! && list !== 'custom')) continue;
      best[i] = candidate;
      step[i] = { end: j, list };
    }
  }
  const score = Math.min(best[0]!, ACCEPT_SCORE);
  if (score >= ACCEPT_SCORE) return { score, accepted: true, matches: [] };
  const matches: BannedMatch[] = [];
  for (let i = 0; i < n; ) {
    const s = step[i]!;
    if (s.list !== null) matches.push({ text: normalized.slice(i, s.end), list: s.list });
    i = s.end;
  }
  return { score, accepted: false, matches };
}

/**
 * Azure's substring matching of the user's first and last name and the tenant name: a name (or a
 * word of it) of at least four characters found anywhere in the normalised password. Azure's own
 * example ("Poll" may not use "p0LL23fb", which would score 5) shows that a name match rejects on its
 * own rather than through the score, so that is what we do.
 */
export function findNames(normalized: string, names: readonly (string | null | undefined)[]): string[] {
  const found = new Set<string>();
  for (const name of names) {
    if (!name) continue;
    const whole = normalizeForBannedCheck(name.trim());
    const parts = [whole, whole.replace(/\s+/g, ''), ...whole.split(/[^\p{L}\p{N}]+/u)];
    for (const part of parts) if (part.length >= MIN_TERM_LENGTH && normalized.includes(part)) found.add(part);
  }
  return [...found];
}
