import {
  LimitNode,
  OffsetNode,
  OperationNodeTransformer,
  ValueNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type UnknownRow,
} from 'kysely';

/**
 * Writes a query's LIMIT and OFFSET into the SQL text (`limit 1`) instead of binding them
 * (`limit ?`), for SQLite only. SQLite (3.47+) lets the planner look at a bound LIMIT value, and a
 * statement whose plan looked at a bound value is marked expired whenever that parameter is bound
 * again: every run of a kept `… limit ?` statement was silently prepared afresh (≈ 45 µs for the
 * user lookup, three times its run; BENCHMARKS.md, issue 9 third session). Only safe integers are
 * written in; anything else stays a parameter. Distinct limits make distinct statement texts, which
 * the statement cache (src/store/database.ts) keeps like any other.
 */
export class LiteralLimitsPlugin implements KyselyPlugin {
  readonly #transformer = new LiteralLimitsTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}

class LiteralLimitsTransformer extends OperationNodeTransformer {
  protected override transformLimit(node: LimitNode): LimitNode {
    const literal = literalOf(node.limit);
    return literal ? LimitNode.create(literal) : super.transformLimit(node);
  }

  protected override transformOffset(node: OffsetNode): OffsetNode {
    const literal = literalOf(node.offset);
    return literal ? OffsetNode.create(literal) : super.transformOffset(node);
  }
}

function literalOf(node: OperationNode): ValueNode | undefined {
  if (!ValueNode.is(node) || node.immediate) return undefined;
  const { value } = node;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return ValueNode.createImmediate(value);
  if (typeof value === 'bigint' && value >= 0n) return ValueNode.createImmediate(value);
  return undefined;
}
