import type { DataSource, EntityTarget, ObjectLiteral } from "typeorm";
import { toConnection, type ConnectionShape } from "./connection.type";
import type { Page } from "./paging";
import { hydrate } from "./sql";

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
