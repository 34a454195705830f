import { Field, ID, InputType } from "type-graphql";

@InputType()
export class CreateHuggingFaceRegistryInput {
  @Field(() => String) name: string;
  @Field(() => String) url: string;
  @Field(() => String, { nullable: true }) token?: string | null;
}

/** Absent or null fields are left unchanged; `token: ""` removes the token. */
@InputType()
export class UpdateHuggingFaceRegistryInput {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) token?: string | null;
}

@InputType()
export class DeleteHuggingFaceRegistryInput {
  @Field(() => ID) id: string;
}

@InputType()
export class CreateReservoirRegistryInput {
  @Field(() => String) name: string;
  @Field(() => String) endpoint: string;
  @Field(() => String) accessKey: string;
  @Field(() => String) secretKey: string;
  @Field(() => String) apiVersion: string;
}

/** Absent or null fields are left unchanged. */
@InputType()
export class UpdateReservoirRegistryInput {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) endpoint?: string | null;
  @Field(() => String, { nullable: true }) accessKey?: string | null;
  @Field(() => String, { nullable: true }) secretKey?: string | null;
  @Field(() => String, { nullable: true }) apiVersion?: string | null;
}

@InputType()
export class DeleteReservoirRegistryInput {
  @Field(() => ID) id: string;
}
