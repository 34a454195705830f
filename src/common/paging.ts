import type { DataSource } from "typeorm";
import { ERRORS } from "./errors";
import { cloneParams, type SqlParams } from "./sql";

export interface PagingArgs {
  first?: number | null;
  after?: string | null;
  last?: number | null;
  before?: string | null;
  limit?: number | null;
  offset?: number | null;
}

export interface PagingLimits {
  defaultPageSize: number;
  maxPageSize: number;
}

export type Paging =
  | { kind: "cursor"; backward: boolean; size: number; cursor: string | null }
  | { kind: "offset"; limit: number; offset: number };

const given = (v: unknown) => v !== undefined && v !== null;

/** Validates paging arguments: cursor paging or offset paging, never both, at most maxPageSize rows. */
export function resolvePaging(args: PagingArgs, limits: PagingLimits): Paging {
  const cursorStyle = given(args.first) || given(args.after) || given(args.last) || given(args.before);
  const offsetStyle = given(args.limit) || given(args.offset);
  if (cursorStyle && offsetStyle) {
    throw ERRORS.badInput("Use either cursor paging (first/after, last/before) or offset paging (limit/offset), not both");
  }
  const checkSize = (name: string, value: number | null | undefined) => {
    if (!given(value)) return;
    if (!Number.isInteger(value) || value! < 0) throw ERRORS.badInput(`${name} must be a non-negative integer`, { argumentName: name });
    if (value! > limits.maxPageSize) {
      throw ERRORS.badInput(`${name} may be at most ${limits.maxPageSize}; page through larger results`, { argumentName: name });
    }
  };
  checkSize("first", args.first);
  checkSize("last", args.last);
  checkSize("limit", args.limit);
  if (offsetStyle) {
    if (given(args.offset) && (!Number.isInteger(args.offset) || args.offset! < 0)) {
      throw ERRORS.badInput("offset must be a non-negative integer", { argumentName: "offset" });
    }
    return { kind: "offset", limit: args.limit ?? limits.defaultPageSize, offset: args.offset ?? 0 };
  }
  if (given(args.first) && given(args.last)) throw ERRORS.badInput("Use first or last, not both");
  if (given(args.after) && given(args.before)) throw ERRORS.badInput("Use after or before, not both");
  if (given(args.before) && given(args.first)) throw ERRORS.badInput("before pages backward: use it with last");
  if (given(args.after) && given(args.last)) throw ERRORS.badInput("after pages forward: use it with first");
  const backward = given(args.last) || given(args.before);
  return {
    kind: "cursor",
    backward,
    size: (backward ? args.last : args.first) ?? limits.defaultPageSize,
    cursor: (backward ? args.before : args.after) ?? null,
  };
}

/** One ORDER BY term. `expr` must never be NULL (wrap nullable columns in COALESCE) so keyset paging stays exact. */
export interface OrderTerm {
  expr: string;
  /** The SQL type a cursor value is cast back to, e.g. "text", "timestamptz", "bigint". */
  cast: string;
  direction: "ASC" | "DESC";
}

export interface PageQuery {
  ds: DataSource;
  /** Columns to return, e.g. `a.*`. */
  select: string;
  /** FROM clause body, e.g. `artifacts a`. */
  from: string;
  /** The unique id column: always the last ORDER BY term, so the order is total and stable. */
  idExpr: string;
  where: string[];
  params: SqlParams;
  order: OrderTerm[];
  paging: Paging;
}

export interface Page {
  /**
   * The rows as PostgreSQL returned them, with the statement's own columns too (`__k…`, `__c…`,
   * `__p`, `__rn`), which hydrate() and the row mappers never read: deleting them would turn
   * every row into a slow dictionary-mode object.
   */
  rows: Record<string, unknown>[];
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

const encodeCursor = (values: unknown[]) => Buffer.from(JSON.stringify(values), "utf8").toString("base64url");

function decodeCursor(cursor: string, length: number): string[] {
  try {
    const values = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(values) && values.length === length && values.every((v) => typeof v === "string")) return values;
  } catch {
    // fall through
  }
  throw ERRORS.badInput("Invalid cursor: it does not belong to this list and ordering", { argumentName: "cursor" });
}

function terms(q: PageQuery): OrderTerm[] {
  return [...q.order, { expr: q.idExpr, cast: "uuid", direction: "ASC" }];
}

function flip(direction: "ASC" | "DESC"): "ASC" | "DESC" {
  return direction === "ASC" ? "DESC" : "ASC";
}

/** Row-value comparison for mixed directions: (t0 > v0) OR (t0 = v0 AND t1 > v1) OR ... */
function keysetCondition(all: OrderTerm[], values: string[], params: SqlParams, backward: boolean): string {
  const ors: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const ands: string[] = [];
    for (let j = 0; j < i; j++) ands.push(`(${all[j].expr}) = ${params.add(values[j])}::${all[j].cast}`);
    const dir = backward ? flip(all[i].direction) : all[i].direction;
    ands.push(`(${all[i].expr}) ${dir === "ASC" ? ">" : "<"} ${params.add(values[i])}::${all[i].cast}`);
    ors.push(`(${ands.join(" AND ")})`);
  }
  return `(${ors.join(" OR ")})`;
}

interface Plan {
  sqlParams: SqlParams;
  where: string[];
  orderSql: string;
  keySelect: string;
  all: OrderTerm[];
  take: number;
  skip: number;
  backward: boolean;
}

function plan(q: PageQuery): Plan {
  const all = terms(q);
  const sqlParams = cloneParams(q.params);
  const where = [...q.where];
  let backward = false;
  let take: number;
  let skip = 0;
  if (q.paging.kind === "cursor") {
    backward = q.paging.backward;
    take = q.paging.size;
    if (q.paging.cursor) where.push(keysetCondition(all, decodeCursor(q.paging.cursor, all.length), sqlParams, backward));
  } else {
    take = q.paging.limit;
    skip = q.paging.offset;
  }
  const orderSql = all.map((t) => `${t.expr} ${backward ? flip(t.direction) : t.direction}`).join(", ");
  const keySelect = all.map((t, i) => `(${t.expr})::text AS "__k${i}"`).join(", ");
  return { sqlParams, where, orderSql, keySelect, all, take, skip, backward };
}

function toPage(rows: Record<string, unknown>[], p: Plan, paging: Paging): Page {
  const more = rows.length > p.take;
  const kept = rows.slice(0, p.take);
  if (p.backward) kept.reverse();
  const cursors = kept.map((row) => encodeCursor(p.all.map((_, i) => row[`__k${i}`])));
  if (paging.kind === "offset") return { rows: kept, cursors, hasNextPage: more, hasPreviousPage: paging.offset > 0 };
  return paging.backward
    ? { rows: kept, cursors, hasNextPage: paging.cursor != null, hasPreviousPage: more }
    : { rows: kept, cursors, hasNextPage: more, hasPreviousPage: paging.cursor != null };
}

// invalid_text_representation, invalid_datetime_format, datetime_field_overflow, numeric_value_out_of_range
const CAST_FAILURES = new Set(["22P02", "22007", "22008", "22003"]);

/**
 * decodeCursor checks a cursor's shape, not its values: a cursor taken under another orderBy
 * fails when PostgreSQL casts its values back. That is the client's mistake, not an internal error.
 */
async function queryPage(ds: DataSource, sql: string, params: SqlParams, paging: Paging): Promise<Record<string, unknown>[]> {
  try {
    return await ds.query(sql, params.values);
  } catch (error) {
    const code = (error as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (error as { code?: string }).code;
    if (paging.kind === "cursor" && paging.cursor && code && CAST_FAILURES.has(code)) {
      throw ERRORS.badInput("Invalid cursor: it does not belong to this list and ordering", { argumentName: paging.backward ? "before" : "after" });
    }
    throw error;
  }
}

const whereSql = (where: string[]) => (where.length ? `WHERE ${where.map((w) => `(${w})`).join(" AND ")}` : "");

/** A count that rides along with another statement; its `where` uses the same parameters. */
export interface CountSpec {
  from: string;
  where: string[];
}

const countSubquery = (c: CountSpec) => `(SELECT count(*)::int FROM ${c.from} ${whereSql(c.where)})`;

/**
 * Fetches one page (one SQL statement). `counts` are answered by the same statement, as
 * uncorrelated subqueries PostgreSQL runs once: `page.counts` holds them when the page has rows
 * (an empty page has no row to carry them; see countMany).
 */
export async function fetchPage(q: PageQuery, counts: readonly CountSpec[] = []): Promise<Page & { counts?: number[] }> {
  const p = plan(q);
  if (p.take === 0) return { rows: [], cursors: [], hasNextPage: false, hasPreviousPage: false };
  const countSelect = counts.map((c, i) => `, ${countSubquery(c)} AS "__c${i}"`).join("");
  const sql = `SELECT ${q.select}, ${p.keySelect}${countSelect} FROM ${q.from} ${whereSql(p.where)} ORDER BY ${p.orderSql} LIMIT ${p.take + 1} OFFSET ${p.skip}`;
  const rows = await queryPage(q.ds, sql, p.sqlParams, q.paging);
  if (!counts.length || !rows.length) return toPage(rows, p, q.paging);
  const found = counts.map((_, i) => rows[0][`__c${i}`] as number);
  return { ...toPage(rows, p, q.paging), counts: found };
}

/** Several counts in one statement (one row). */
export async function countMany(ds: DataSource, params: SqlParams, counts: readonly CountSpec[]): Promise<number[]> {
  if (!counts.length) return [];
  const [row] = await ds.query(`SELECT ${counts.map((c, i) => `${countSubquery(c)} AS "__c${i}"`).join(", ")}`, params.values);
  return counts.map((_, i) => row[`__c${i}`] as number);
}

/**
 * Fetches the same page for many parents in ONE SQL statement (a window per parent), so a
 * nested connection costs a constant number of queries however many parents a page has.
 */
export async function fetchPagesByParent(q: PageQuery & { parentExpr: string; parentIds: readonly string[] }): Promise<Map<string, Page>> {
  const p = plan(q);
  const result = new Map<string, Page>();
  if (p.take === 0 || q.parentIds.length === 0) {
    for (const id of q.parentIds) result.set(id, { rows: [], cursors: [], hasNextPage: false, hasPreviousPage: false });
    return result;
  }
  const where = [...p.where, `${q.parentExpr} = ANY(${p.sqlParams.add(q.parentIds)}::uuid[])`];
  const sql = `SELECT * FROM (
      SELECT ${q.select}, ${p.keySelect}, (${q.parentExpr})::text AS "__p",
             ROW_NUMBER() OVER (PARTITION BY ${q.parentExpr} ORDER BY ${p.orderSql}) AS "__rn"
      FROM ${q.from} ${whereSql(where)}
    ) windowed
    WHERE "__rn" > ${p.skip} AND "__rn" <= ${p.skip + p.take + 1}
    ORDER BY "__p", "__rn"`;
  const rows = await queryPage(q.ds, sql, p.sqlParams, q.paging);
  const grouped = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) {
    const key = String(row.__p);
    if (!grouped.has(key)) grouped.set(key, []);
    grouped.get(key)!.push(row);
  }
  for (const id of q.parentIds) result.set(id, toPage(grouped.get(id) ?? [], p, q.paging));
  return result;
}

export interface CountQuery {
  ds: DataSource;
  from: string;
  where: string[];
  params: SqlParams;
}

export async function countRows(q: CountQuery): Promise<number> {
  const [row] = await q.ds.query(`SELECT count(*)::int AS n FROM ${q.from} ${whereSql(q.where)}`, q.params.values);
  return row.n;
}

/** Counts matches per parent in one statement; parents without matches get 0. */
export async function countRowsByParent(q: CountQuery & { parentExpr: string; parentIds: readonly string[] }): Promise<Map<string, number>> {
  const params = cloneParams(q.params);
  const where = [...q.where, `${q.parentExpr} = ANY(${params.add(q.parentIds)}::uuid[])`];
  const rows: { p: string; n: number }[] = await q.ds.query(
    `SELECT (${q.parentExpr})::text AS p, count(*)::int AS n FROM ${q.from} ${whereSql(where)} GROUP BY ${q.parentExpr}`,
    params.values,
  );
  const counts = new Map(q.parentIds.map((id) => [id, 0]));
  for (const row of rows) counts.set(row.p, row.n);
  return counts;
}
