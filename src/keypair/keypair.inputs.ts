import { Field, ID, InputType } from "type-graphql";
import "../common/enums.graphql";
import { ApiKeypairRole } from "../common/enums";

@InputType()
export class CreateApiKeypairInput {
  @Field(() => ApiKeypairRole) role: ApiKeypairRole;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class RevokeApiKeypairInput {
  @Field(() => ID) id: string;
}
