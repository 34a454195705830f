import { Field, InputType, Int } from "type-graphql";
import { UUIDScalar } from "./scalars";

/**
 * Operators on one string column. Several operators in one StringFilter must all hold.
 * `not*` operators are the exact negation of their positive form, so a NULL column value
 * matches every `not*` operator and no positive one.
 */
@InputType()
export class StringFilter {
  @Field(() => String, { nullable: true }) contains?: string | null;
  @Field(() => String, { nullable: true }) startsWith?: string | null;
  @Field(() => String, { nullable: true }) endsWith?: string | null;
  @Field(() => String, { nullable: true }) equals?: string | null;
  @Field(() => String, { nullable: true }) notContains?: string | null;
  @Field(() => String, { nullable: true }) notStartsWith?: string | null;
  @Field(() => String, { nullable: true }) notEndsWith?: string | null;
  @Field(() => String, { nullable: true }) notEquals?: string | null;
  @Field(() => String, { nullable: true }) iContains?: string | null;
  @Field(() => String, { nullable: true }) iStartsWith?: string | null;
  @Field(() => String, { nullable: true }) iEndsWith?: string | null;
  @Field(() => String, { nullable: true }) iEquals?: string | null;
  @Field(() => String, { nullable: true }) iNotContains?: string | null;
  @Field(() => String, { nullable: true }) iNotStartsWith?: string | null;
  @Field(() => String, { nullable: true }) iNotEndsWith?: string | null;
  @Field(() => String, { nullable: true }) iNotEquals?: string | null;
  @Field(() => [String], { nullable: true }) in?: string[] | null;
  @Field(() => [String], { nullable: true }) notIn?: string[] | null;
  @Field(() => [String], { nullable: true }) iIn?: string[] | null;
  @Field(() => [String], { nullable: true }) iNotIn?: string[] | null;
}

@InputType()
export class IntFilter {
  @Field(() => Int, { nullable: true }) equals?: number | null;
  @Field(() => Int, { nullable: true }) notEquals?: number | null;
  @Field(() => Int, { nullable: true }) greaterThan?: number | null;
  @Field(() => Int, { nullable: true }) greaterThanOrEqual?: number | null;
  @Field(() => Int, { nullable: true }) lessThan?: number | null;
  @Field(() => Int, { nullable: true }) lessThanOrEqual?: number | null;
}

@InputType()
export class UUIDFilter {
  @Field(() => UUIDScalar, { nullable: true }) equals?: string | null;
  @Field(() => [UUIDScalar], { nullable: true }) in?: string[] | null;
  @Field(() => UUIDScalar, { nullable: true }) notEquals?: string | null;
  @Field(() => [UUIDScalar], { nullable: true }) notIn?: string[] | null;
}
