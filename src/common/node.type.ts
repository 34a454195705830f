import { Field, ID, InterfaceType } from "type-graphql";

/**
 * Relay's Node. Object types implementing it are returned as class instances, so type-graphql
 * resolves the concrete type by `instanceof`.
 */
@InterfaceType("Node")
export abstract class Node {
  @Field(() => ID)
  id: string;
}
