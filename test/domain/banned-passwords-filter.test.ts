import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildBannedTermIndex, fuzzyMatches, globalBannedTerms } from '../../src/domain/banned-passwords.js';

/**
 * fuzzyMatches skips its string probes for a length when no term of that length shares the first two
 * or the last two characters of the string (a one-edit match always does). These check that the
 * short cut never changes an answer.
 */
describe('fuzzy matching with the head/tail pre-filter', () => {
  /** The definition, by brute force over the list. */
  const withinOneEdit = (terms: readonly string[], s: string): boolean =>
    s.length >= 4 &&
    terms.some((t) => {
      if (t === s) return true;
      if (t.length === s.length) return [...t].filter((c, i) => c !== s[i]).length === 1; // one substituted
      if (t.length === s.length + 1) return [...t].some((_, i) => t.slice(0, i) + t.slice(i + 1) === s); // one missing, anywhere
      if (t.length === s.length - 1) return [...s].some((_, i) => i > 0 && i < s.length - 1 && s.slice(0, i) + s.slice(i + 1) === t); // one inserted inside
      return false;
    });

  it('answers exactly the definition, for any list and any string (a small alphabet, so near misses abound)', () => {
    const word = (min: number, max: number) => fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), minLength: min, maxLength: max });
    fc.assert(
      fc.property(fc.array(word(4, 9), { maxLength: 25 }), fc.array(word(2, 11), { minLength: 1, maxLength: 20 }), (terms, probes) => {
        const index = buildBannedTermIndex(terms);
        for (const s of probes) expect(fuzzyMatches(index, s), `${s} against ${terms.join(',')}`).toBe(withinOneEdit([...index.exact], s));
      }),
      { numRuns: 400 },
    );
  });

  it('finds one-edit variants of the shipped list at the first two and the last two positions', () => {
    const index = globalBannedTerms();
    const terms = [...index.exact].filter((_, i) => i % 97 === 0);
    expect(terms.length).toBeGreaterThan(400);
    for (const t of terms) {
      const n = t.length;
      const swap = (i: number) => t.slice(0, i) + (t[i] === 'q' ? 'z' : 'q') + t.slice(i + 1);
      const variants = [swap(0), swap(1), swap(n - 2), swap(n - 1), t.slice(1), t.slice(0, 1) + t.slice(2), t.slice(0, -1), `${t.slice(0, 1)}q${t.slice(1)}`, `${t.slice(0, n - 1)}q${t.slice(n - 1)}`];
      for (const v of variants) if (v.length >= 4) expect(fuzzyMatches(index, v), `${v} (one edit from a list term)`).toBe(true);
    }
  });
});
