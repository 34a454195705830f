import type { DataSource, EntityTarget, ObjectLiteral } from "typeorm";

/** Collects positional parameters while SQL text is assembled: `p.add(v)` returns "$n". */
export class SqlParams {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Escapes LIKE wildcards so user text matches literally (with ESCAPE '\'). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** Turns a raw row (database column names) into an entity instance, applying column transformers. */
export function hydrate<T extends ObjectLiteral>(ds: DataSource, target: EntityTarget<T>, row: Record<string, unknown>): T {
  const meta = ds.getMetadata(target);
  const entity = meta.create() as T;
  for (const column of meta.columns) {
    if (!(column.databaseName in row)) continue;
    let value = row[column.databaseName];
    const transformer = column.transformer;
    if (transformer && !Array.isArray(transformer)) value = transformer.from(value);
    (entity as Record<string, unknown>)[column.propertyName] = value;
  }
  return entity;
}

export function cloneParams(params: SqlParams): SqlParams {
  const copy = new SqlParams();
  copy.values.push(...params.values);
  return copy;
}
