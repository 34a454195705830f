import { ArgsType, Field, Int } from "type-graphql";
import type { PagingArgs } from "./paging";

/** The paging arguments every connection field takes (cursor or offset style). */
@ArgsType()
export class PagingArgsType implements PagingArgs {
  @Field(() => String, { nullable: true }) before?: string | null;
  @Field(() => String, { nullable: true }) after?: string | null;
  @Field(() => Int, { nullable: true }) first?: number | null;
  @Field(() => Int, { nullable: true }) last?: number | null;
  @Field(() => Int, { nullable: true }) limit?: number | null;
  @Field(() => Int, { nullable: true }) offset?: number | null;
}
