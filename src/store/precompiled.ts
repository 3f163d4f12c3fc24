import { CompiledQuery, type Compilable } from 'kysely';
import type { Executor } from './database.js';

/**
 * A query on a hot path (every authenticated request, every sign-in), built and compiled by Kysely
 * once per dialect instead of per call: Kysely's builder and compiler cost more than SQLite's keyed
 * lookup itself (≈ 30 % of a Graph read's CPU, BENCHMARKS.md, graph-read). The query is built with
 * one placeholder value per argument; each call substitutes the real values at the placeholders'
 * positions among the compiled parameters. Only for queries whose SHAPE does not depend on the
 * arguments (no lists, no optional conditions): each argument must be used as exactly a value.
 */
export function precompiled<A extends unknown[], R>(build: (db: Executor, ...args: A) => Compilable<R>): (db: Executor, ...args: A) => Promise<R[]> {
  const byAdapter = new Map<unknown, { sql: string; parameters: readonly unknown[]; slots: readonly number[] }>();
  return async (db, ...args) => {
    const adapter = db.getExecutor().adapter.constructor;
    let template = byAdapter.get(adapter);
    if (!template) {
      const placeholders = args.map((_, i) => `\u0000precompiled-argument-${i}\u0000`);
      const compiled = build(db, ...(placeholders as A)).compile();
      const slots = compiled.parameters.map((p) => (typeof p === 'string' ? placeholders.indexOf(p) : -1));
      for (let i = 0; i < args.length; i++) {
        if (slots.filter((s) => s === i).length !== 1) throw new Error(`precompiled query: argument ${i} must appear exactly once as a value`);
      }
      template = { sql: compiled.sql, parameters: compiled.parameters, slots };
      byAdapter.set(adapter, template);
    }
    const { sql, parameters, slots } = template;
    const values = parameters.map((p, i) => (slots[i]! >= 0 ? args[slots[i]!] : p));
    return (await db.executeQuery<R>(CompiledQuery.raw(sql, values))).rows;
  };
}
