import { sql, type RawBuilder, type SqlBool } from 'kysely';

/** One clause of a Graph `$filter` the stores understand: `eq` or `startswith` on a column. */
export interface ListFilter<F extends string> {
  field: F;
  op: 'eq' | 'startswith';
  value: string | boolean;
}

/** A keyset-paged list request: filters, continue after this id, page size. */
export interface ListQuery<F extends string> {
  filters: ListFilter<F>[];
  afterId?: string | undefined;
  limit: number;
}

/**
 * The SQL condition for one clause. Strings compare case-insensitively, as Graph does; `%`, `_`
 * and `\` in a startswith prefix match themselves. Booleans are stored as 0/1.
 */
export function filterCondition(column: string, op: ListFilter<string>['op'], value: string | boolean): RawBuilder<SqlBool> {
  const ref = sql.ref(column);
  if (typeof value === 'boolean') return sql<SqlBool>`${ref} = ${value ? 1 : 0}`;
  const lowered = value.toLowerCase();
  if (op === 'eq') return sql<SqlBool>`lower(${ref}) = ${lowered}`;
  const pattern = `${lowered.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  return sql<SqlBool>`lower(${ref}) like ${pattern} escape '\\'`;
}
