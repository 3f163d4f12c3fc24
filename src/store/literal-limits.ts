import { SqliteDialect, SqliteQueryCompiler, ValueNode, type LimitNode, type OffsetNode, type OperationNode, type QueryCompiler } from 'kysely';

/**
 * SQLite's dialect with a compiler that writes a query's LIMIT and OFFSET into the SQL text
 * (`limit 1`) instead of binding them (`limit ?`). SQLite (3.47+) lets the planner look at a bound
 * LIMIT value, and a statement whose plan looked at a bound value is marked expired whenever that
 * parameter is bound again: every run of a kept `… limit ?` statement was silently prepared afresh
 * (≈ 45 µs for the user lookup, three times its run; BENCHMARKS.md, issue 9 third session). Done in
 * the compiler, so it costs nothing per query and covers subqueries too (a plugin rebuilt every
 * query's tree: ≈ 3 % of a writeback job's CPU). Only safe non-negative integers are written in;
 * anything else stays a parameter. Distinct limits make distinct statement texts, which the statement
 * cache (src/store/database.ts) keeps like any other.
 */
export class LiteralLimitsSqliteDialect extends SqliteDialect {
  override createQueryCompiler(): QueryCompiler {
    return new LiteralLimitsSqliteCompiler();
  }
}

class LiteralLimitsSqliteCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    const literal = literalOf(node.limit);
    if (literal === undefined) return super.visitLimit(node);
    this.append(`limit ${literal}`);
  }

  protected override visitOffset(node: OffsetNode): void {
    const literal = literalOf(node.offset);
    if (literal === undefined) return super.visitOffset(node);
    this.append(`offset ${literal}`);
  }
}

function literalOf(node: OperationNode): string | undefined {
  if (!ValueNode.is(node)) return undefined;
  const { value } = node;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'bigint' && value >= 0n) return String(value);
  return undefined;
}
