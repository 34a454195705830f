import { Directive, Field, Int, ObjectType, type ClassType } from "type-graphql";
import type { Page } from "./paging";

@ObjectType()
@Directive("@shareable")
export class PageInfo {
  @Field() hasNextPage: boolean;
  @Field() hasPreviousPage: boolean;
  @Field(() => String, { nullable: true }) startCursor: string | null;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

export interface EdgeShape<T> { cursor: string; node: T }

/**
 * A connection's `count`, `edges` and `pageInfo` may be thunks (or getters, see connectionOf):
 * with `simple: true` the field reads the property and graphql-js calls a function-valued one,
 * so a query runs only when a client selects what it answers.
 */
export interface ConnectionShape<T> {
  pageInfo: PageInfo | (() => Promise<PageInfo>);
  edges: EdgeShape<T>[] | (() => Promise<EdgeShape<T>[]>);
  count: number | (() => Promise<number>);
}

/** Builds `<Name>Connection` and `<Name>Edge` object types for a node type. */
export function connectionTypes<T extends object>(name: string, node: () => ClassType<T>) {
  @ObjectType(`${name}Edge`)
  class Edge implements EdgeShape<T> {
    @Field() cursor: string;
    @Field(node) node: T;
  }

  @ObjectType(`${name}Connection`)
  class Connection implements ConnectionShape<T> {
    @Field(() => PageInfo, { simple: true }) pageInfo: PageInfo | (() => Promise<PageInfo>);
    @Field(() => [Edge], { simple: true }) edges: Edge[] | (() => Promise<Edge[]>);
    @Field(() => Int, { simple: true }) count: number | (() => Promise<number>);
  }

  return { Edge, Connection };
}

export function toConnection<R, T>(page: Page, map: (row: R) => T, count: number | (() => Promise<number>)): ConnectionShape<T> {
  const edges = page.rows.map((row, i) => ({ cursor: page.cursors[i], node: map(row as R) }));
  return {
    edges,
    count,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/** A connection over a complete, unpaged list (mutation payloads): cursors are the nodes' ids. */
export function listConnection<T extends { id: string }>(nodes: T[]): ConnectionShape<T> {
  const edges = nodes.map((node) => ({ cursor: node.id, node }));
  return {
    edges,
    count: edges.length,
    pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: edges[0]?.cursor ?? null, endCursor: edges.at(-1)?.cursor ?? null },
  };
}
