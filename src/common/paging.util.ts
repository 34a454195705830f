import type { DataSource, EntityTarget, ObjectLiteral } from "typeorm";
import { toConnection, type ConnectionShape } from "./connection.type";
import { ERRORS } from "./errors";
import type { Page, Paging } from "./paging";
import { hydrate } from "./sql";

// invalid_text_representation, invalid_datetime_format, datetime_field_overflow, numeric_value_out_of_range
const CAST_FAILURES = new Set(["22P02", "22007", "22008", "22003"]);

/**
 * paging.ts checks a cursor's shape, not its values: a cursor taken under another orderBy
 * fails when PostgreSQL casts its values back. That is the client's mistake (BAD_USER_INPUT),
 * not an internal error.
 */
export async function guardCursor<T>(paging: Paging, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    const code = (error as { driverError?: { code?: string }; code?: string }).driverError?.code ?? (error as { code?: string }).code;
    if (paging.kind === "cursor" && paging.cursor && code && CAST_FAILURES.has(code)) {
      throw ERRORS.badInput("Invalid cursor: it does not belong to this list and ordering", { argumentName: paging.backward ? "before" : "after" });
    }
    throw error;
  }
}

/** A page whose rows are already entities. */
export type EntityPage<E> = Omit<Page, "rows"> & { rows: E[] };

export function hydratePage<E extends ObjectLiteral>(ds: DataSource, target: EntityTarget<E>, page: Page): EntityPage<E> {
  return { ...page, rows: page.rows.map((row) => hydrate(ds, target, row)) };
}

/**
 * toConnection, with a lazy count exposed as a memoized getter: type-graphql's basic field
 * resolver reads `root.count` without calling it, so a function-valued count would reach the
 * Int serializer. A getter runs the count query only when a client selects `count`, once.
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
