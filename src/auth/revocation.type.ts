import { Field, InputType, ObjectType } from "type-graphql";
import { DateTimeScalar } from "../common/scalars";

@InputType()
export class RevokeTokensInput {
  /** A user token's `sub`, or a key pair's access key. */
  @Field(() => String) subject: string;
}

@ObjectType()
export class RevokeTokensPayload {
  @Field(() => String) subject: string;
  /** Tokens of the subject issued before this instant (in the same second included) are refused. */
  @Field(() => DateTimeScalar) notBefore: Date;
}
