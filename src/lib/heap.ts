import { setFlagsFromString } from 'node:v8';

/**
 * How far the old generation may grow past the live heap before V8 collects it. V8's own choice is
 * dynamic and reaches 4× when collections are cheap: a server whose live heap is ~36 MB then holds up
 * to ~150 MB of dead objects between full collections. Streaming work that promotes short-lived
 * objects (the pg driver's rows, for one: a 1-million-row CSV export went from +145 MB resident with
 * V8's default to +41 MB at 50 %, bench/audit-queries.ts) shows it most. A fixed factor trades a few
 * more, smaller full collections for a resident size that tracks what is live. The flag is read at
 * every limit computation, so setting it at start-up takes effect from the next collection on.
 */
export function applyHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth percent: a whole number ≥ 0, not ${percent}`);
  if (percent === 0) return; // V8's own dynamic factor
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
