import { OrderDirection } from "./enums.graphql";
import { ERRORS } from "./errors";
import type { OrderTerm } from "./paging";
import { escapeLike, type SqlParams } from "./sql";
import type { IntFilter, StringFilter, UUIDFilter } from "./filters.type";

/*
 * Filter inputs compile to SQL boolean expressions with bound parameters only: user text never
 * reaches the SQL text. Semantics shared by every filter input:
 *
 * - The fields of one filter object, and the operators of one StringFilter/IntFilter/UUIDFilter,
 *   must all hold (AND).
 * - `AND: [a, b]` is a AND b; `OR: [a, b]` is a OR b; `NOT: [a, b]` is NOT (a AND b), i.e. the
 *   negation of the list read as one filter object. An empty AND/OR/NOT list is ignored, like an
 *   absent one, because clients that assemble filters programmatically send [] for "nothing".
 * - Logic is two-valued: a test on a NULL column is false, never unknown, so `NOT` and every
 *   `not*` operator are exact complements (a NULL source name matches `notEquals: "x"`).
 * - An empty `in` list matches nothing and an empty `notIn` list matches everything.
 */

/** AND/OR/NOT nesting deeper than this is refused: it is never needed and costs the planner. */
export const FILTER_MAX_DEPTH = 5;
/** Filter objects per request field (all nesting levels together). */
export const FILTER_MAX_NODES = 100;
/** Values in one `in`/`notIn` list. */
export const FILTER_MAX_LIST = 1000;

/** A column (or expression) a filter may test. */
export interface FilterColumn {
  expr: string;
  /** Nullable columns are wrapped in COALESCE(..., false) for two-valued logic. */
  nullable: boolean;
}

const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

export const allOf = (parts: string[]) => (parts.length === 0 ? "TRUE" : parts.map((p) => `(${p})`).join(" AND "));
const anyOf = (parts: string[]) => (parts.length === 0 ? "FALSE" : parts.map((p) => `(${p})`).join(" OR "));

function definite(cond: string, column: FilterColumn): string {
  return column.nullable ? `COALESCE(${cond}, false)` : cond;
}

function checkList(values: readonly unknown[], name: string): void {
  if (values.length > FILTER_MAX_LIST) {
    throw ERRORS.badInput(`A filter's ${name} list may hold at most ${FILTER_MAX_LIST} values`, { argumentName: "filter" });
  }
}

/** Conditions of one StringFilter (empty when it sets no operator). */
export function stringConditions(column: FilterColumn, f: StringFilter | null | undefined, params: SqlParams): string[] {
  if (!f) return [];
  const e = column.expr;
  const like = (op: "LIKE" | "ILIKE", pattern: string) => `${e} ${op} ${params.add(pattern)} ESCAPE '\\'`;
  const lowerIn = (values: string[]) => `lower(${e}) = ANY(ARRAY(SELECT lower(v) FROM unnest(${params.add(values)}::text[]) v))`;
  const positive: Array<[string | string[] | null | undefined, boolean, (v: any) => string]> = [
    [f.contains, false, (v: string) => like("LIKE", `%${escapeLike(v)}%`)],
    [f.startsWith, false, (v: string) => like("LIKE", `${escapeLike(v)}%`)],
    [f.endsWith, false, (v: string) => like("LIKE", `%${escapeLike(v)}`)],
    [f.equals, false, (v: string) => `${e} = ${params.add(v)}`],
    [f.notContains, true, (v: string) => like("LIKE", `%${escapeLike(v)}%`)],
    [f.notStartsWith, true, (v: string) => like("LIKE", `${escapeLike(v)}%`)],
    [f.notEndsWith, true, (v: string) => like("LIKE", `%${escapeLike(v)}`)],
    [f.notEquals, true, (v: string) => `${e} = ${params.add(v)}`],
    [f.iContains, false, (v: string) => like("ILIKE", `%${escapeLike(v)}%`)],
    [f.iStartsWith, false, (v: string) => like("ILIKE", `${escapeLike(v)}%`)],
    [f.iEndsWith, false, (v: string) => like("ILIKE", `%${escapeLike(v)}`)],
    [f.iEquals, false, (v: string) => `lower(${e}) = lower(${params.add(v)})`],
    [f.iNotContains, true, (v: string) => like("ILIKE", `%${escapeLike(v)}%`)],
    [f.iNotStartsWith, true, (v: string) => like("ILIKE", `${escapeLike(v)}%`)],
    [f.iNotEndsWith, true, (v: string) => like("ILIKE", `%${escapeLike(v)}`)],
    [f.iNotEquals, true, (v: string) => `lower(${e}) = lower(${params.add(v)})`],
    [f.in, false, (v: string[]) => `${e} = ANY(${params.add(v)}::text[])`],
    [f.notIn, true, (v: string[]) => `${e} = ANY(${params.add(v)}::text[])`],
    [f.iIn, false, lowerIn],
    [f.iNotIn, true, lowerIn],
  ];
  const out: string[] = [];
  for (const [value, negate, build] of positive) {
    if (!given(value)) continue;
    if (Array.isArray(value)) checkList(value, "in");
    const cond = definite(build(value), column);
    out.push(negate ? `NOT (${cond})` : cond);
  }
  return out;
}

/** Conditions of one IntFilter against an integer or bigint column. */
export function intConditions(column: FilterColumn, f: IntFilter | null | undefined, params: SqlParams): string[] {
  if (!f) return [];
  const e = column.expr;
  const cmp = (op: string, v: number) => definite(`${e} ${op} ${params.add(v)}::bigint`, column);
  const out: string[] = [];
  if (given(f.equals)) out.push(cmp("=", f.equals));
  if (given(f.notEquals)) out.push(`NOT (${cmp("=", f.notEquals)})`);
  if (given(f.greaterThan)) out.push(cmp(">", f.greaterThan));
  if (given(f.greaterThanOrEqual)) out.push(cmp(">=", f.greaterThanOrEqual));
  if (given(f.lessThan)) out.push(cmp("<", f.lessThan));
  if (given(f.lessThanOrEqual)) out.push(cmp("<=", f.lessThanOrEqual));
  return out;
}

/** Conditions of one UUIDFilter against a uuid column. */
export function uuidConditions(column: FilterColumn, f: UUIDFilter | null | undefined, params: SqlParams): string[] {
  if (!f) return [];
  const e = column.expr;
  const eq = (v: string) => definite(`${e} = ${params.add(v)}::uuid`, column);
  const inList = (v: string[]) => {
    checkList(v, "in");
    return definite(`${e} = ANY(${params.add(v)}::uuid[])`, column);
  };
  const not = (cond: string) => `NOT (${cond})`;
  const out: string[] = [];
  if (given(f.equals)) out.push(eq(f.equals));
  if (given(f.in)) out.push(inList(f.in));
  if (given(f.notEquals)) out.push(not(eq(f.notEquals)));
  if (given(f.notIn)) out.push(not(inList(f.notIn)));
  return out;
}

/** `column = ANY(values)` for an enum list filter; an empty list matches nothing. */
export function enumInCondition(column: FilterColumn, values: readonly string[], params: SqlParams): string {
  checkList(values, "enum");
  return definite(`${column.expr} = ANY(${params.add(values)}::text[])`, column);
}

export interface BooleanFilter<F> {
  AND?: F[] | null;
  OR?: F[] | null;
  NOT?: F[] | null;
}

/** Refuses filters nested deeper than FILTER_MAX_DEPTH or larger than FILTER_MAX_NODES, before any SQL is built. */
export function checkFilterShape<F extends BooleanFilter<F>>(filter: F | null | undefined): void {
  let nodes = 0;
  const visit = (f: F, depth: number) => {
    if (depth > FILTER_MAX_DEPTH) {
      throw ERRORS.badInput(`AND/OR/NOT may be nested at most ${FILTER_MAX_DEPTH} levels deep`, { argumentName: "filter" });
    }
    if (++nodes > FILTER_MAX_NODES) {
      throw ERRORS.badInput(`A filter may contain at most ${FILTER_MAX_NODES} filter objects`, { argumentName: "filter" });
    }
    for (const list of [f.AND, f.OR, f.NOT]) for (const child of list ?? []) visit(child, depth + 1);
  };
  if (filter) visit(filter, 0);
}

/** Compiles a filter tree; `leaves` turns one object's own fields (not AND/OR/NOT) into conditions. */
export function compileBooleanFilter<F extends BooleanFilter<F>>(filter: F | null | undefined, leaves: (f: F) => string[]): string {
  if (!filter) return "TRUE";
  checkFilterShape(filter);
  const compile = (f: F): string => {
    const parts = leaves(f);
    if (f.AND?.length) parts.push(allOf(f.AND.map(compile)));
    if (f.OR?.length) parts.push(anyOf(f.OR.map(compile)));
    if (f.NOT?.length) parts.push(`NOT (${allOf(f.NOT.map(compile))})`);
    return allOf(parts);
  };
  return compile(filter);
}

/** True when `pick` sets something on any object of the tree (AND/OR/NOT included). */
export function filterMentions<F extends BooleanFilter<F>>(filter: F | null | undefined, pick: (f: F) => unknown): boolean {
  if (!filter) return false;
  if (given(pick(filter))) return true;
  return [filter.AND, filter.OR, filter.NOT].some((list) => (list ?? []).some((child) => filterMentions(child, pick)));
}

export interface OrderInput<Field extends string> {
  field: Field;
  direction?: OrderDirection | null;
}

export type OrderColumns<Field extends string> = Record<Field, { expr: string; cast: string }>;

/**
 * Turns an orderBy list into ORDER BY terms. A field named twice counts once (its first
 * direction); an absent or empty list means `fallback`. paging.ts appends the id as the final
 * tie-break, so every order is total.
 */
export function compileOrder<Field extends string>(
  orderBy: readonly OrderInput<Field>[] | null | undefined,
  columns: OrderColumns<Field>,
  fallback: readonly OrderInput<Field>[],
): OrderTerm[] {
  const list = orderBy?.length ? orderBy : fallback;
  const seen = new Set<Field>();
  const terms: OrderTerm[] = [];
  for (const { field, direction } of list) {
    if (seen.has(field)) continue;
    seen.add(field);
    const column = columns[field];
    if (!column) throw ERRORS.badInput(`Cannot order by ${field}`, { argumentName: "orderBy" });
    terms.push({ expr: column.expr, cast: column.cast, direction: direction === OrderDirection.DESC ? "DESC" : "ASC" });
  }
  return terms;
}
