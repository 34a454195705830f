import type { DataSource, EntityTarget, ObjectLiteral } from "typeorm";
import { toConnection, type ConnectionShape, type EdgeShape, type PageInfo } from "./connection.type";
import { countRows, fetchPage, resolvePaging, type OrderTerm, type Page, type PagingArgs, type PagingLimits } from "./paging";
import { hydrate, SqlParams } from "./sql";

/** A page whose rows are already entities. */
export type EntityPage<E> = Omit<Page, "rows"> & { rows: E[] };

export function hydratePage<E extends ObjectLiteral>(ds: DataSource, target: EntityTarget<E>, page: Page): EntityPage<E> {
  return { ...page, rows: page.rows.map((row) => hydrate(ds, target, row)) };
}

/**
 * toConnection over entities, with a lazy count exposed as a memoized getter: the count query
 * runs only when a client selects `count`, and once however many aliases select it.
 */
export function connectionOf<E, T>(page: EntityPage<E>, map: (entity: E) => T, count: number | (() => Promise<number>)): ConnectionShape<T> {
  const connection = toConnection(page as unknown as Page, map, 0);
  if (typeof count === "number") return { ...connection, count };
  let pending: Promise<number> | null = null;
  return Object.defineProperty(connection, "count", {
    enumerable: true,
    get: () => (pending ??= count()),
  });
}

/**
 * A connection whose page, like its count, is fetched only when selected (`edges` and
 * `pageInfo` are thunks): a client asking only for `count` costs no page query.
 */
export function lazyConnectionOf<E, T>(page: () => Promise<EntityPage<E>>, map: (entity: E) => T, count: () => Promise<number>): ConnectionShape<T> {
  let built: Promise<ConnectionShape<T>> | null = null;
  const connection = () => (built ??= page().then((p) => toConnection(p as unknown as Page, map, 0)));
  return {
    edges: () => connection().then((c) => c.edges as EdgeShape<T>[]),
    pageInfo: () => connection().then((c) => c.pageInfo as PageInfo),
    count,
  };
}

export interface TableListing {
  ds: DataSource;
  limits: PagingLimits;
  select: string;
  /** FROM clause body with its alias, e.g. `api_keypairs k`. */
  from: string;
  idExpr: string;
  order: OrderTerm;
}

/** One page of a whole table in one order, with a lazy count: the plain listings (registries, storages, key pairs). */
export async function listTable<T>(t: TableListing, args: PagingArgs, map: (row: Record<string, any>) => T): Promise<ConnectionShape<T>> {
  const paging = resolvePaging(args, t.limits);
  const params = new SqlParams();
  const page = await fetchPage({ ds: t.ds, select: t.select, from: t.from, idExpr: t.idExpr, where: [], params, paging, order: [t.order] });
  return connectionOf(page, map, () => countRows({ ds: t.ds, from: t.from, where: [], params }));
}
