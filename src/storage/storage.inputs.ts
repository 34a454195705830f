import { Field, ID, InputType } from "type-graphql";
import { UUIDScalar } from "../common/scalars";

@InputType()
export class CreateObjectStorageInput {
  @Field(() => String) name: string;
  @Field(() => String) host: string;
  @Field(() => String) accessKey: string;
  @Field(() => String) secretKey: string;
  @Field(() => String) endpoint: string;
  @Field(() => String) region: string;
}

/** Absent or null fields are left unchanged. */
@InputType()
export class UpdateObjectStorageInput {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) host?: string | null;
  @Field(() => String, { nullable: true }) accessKey?: string | null;
  @Field(() => String, { nullable: true }) secretKey?: string | null;
  @Field(() => String, { nullable: true }) endpoint?: string | null;
  @Field(() => String, { nullable: true }) region?: string | null;
}

@InputType()
export class DeleteObjectStorageInput {
  @Field(() => ID) id: string;
}

@InputType()
export class CreateVFSStorageInput {
  @Field(() => String) name: string;
  @Field(() => String) host: string;
  @Field(() => String) basePath: string;
}

/** Absent or null fields are left unchanged. */
@InputType()
export class UpdateVFSStorageInput {
  @Field(() => ID) id: string;
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) host?: string | null;
  @Field(() => String, { nullable: true }) basePath?: string | null;
}

@InputType()
export class DeleteVFSStorageInput {
  @Field(() => ID) id: string;
}

@InputType()
export class RegisterStorageNamespaceInput {
  /** An object storage (namespace = bucket) or a VFS storage (namespace = sub-directory). */
  @Field(() => UUIDScalar) storageId: string;
  @Field(() => String) namespace: string;
}

@InputType()
export class UnregisterStorageNamespaceInput {
  @Field(() => UUIDScalar) storageId: string;
  @Field(() => String) namespace: string;
}
