import { Field, ID, ObjectType } from "type-graphql";
import "../common/enums.graphql";
import { connectionTypes } from "../common/connection.type";
import { ApiKeypairRole } from "../common/enums";
import { Node } from "../common/node.type";
import { toGlobalId } from "../common/relay";
import { DateTimeScalar } from "../common/scalars";
import type { ApiKeypairEntity } from "./api-keypair.entity";

/** A machine client's key pair. The secret key is never readable here: createApiKeypair shows it once. */
@ObjectType({ implements: Node })
export class ApiKeypair implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) accessKey: string;
  @Field(() => ApiKeypairRole) role: ApiKeypairRole;
  @Field(() => String, { nullable: true }) description: string | null;
  @Field(() => DateTimeScalar) createdAt: Date;
  @Field(() => DateTimeScalar, { nullable: true }) lastUsedAt: Date | null;
  @Field(() => Boolean) revoked: boolean;

  uuid: string;
}

export const { Edge: ApiKeypairEdge, Connection: ApiKeypairConnection } = connectionTypes("ApiKeypair", () => ApiKeypair);

/** Always a class instance: the Node interface resolves the concrete type by instanceof. */
export function toApiKeypair(e: ApiKeypairEntity): ApiKeypair {
  return Object.assign(new ApiKeypair(), {
    id: toGlobalId("ApiKeypair", e.id),
    uuid: e.id,
    accessKey: e.accessKey,
    role: e.role,
    description: e.description,
    createdAt: e.createdAt,
    lastUsedAt: e.lastUsedAt,
    revoked: e.revokedAt != null,
  });
}

@ObjectType()
export class CreateApiKeypairPayload {
  @Field(() => ApiKeypair) keypair: ApiKeypair;
  /** The only time the secret key is shown. */
  @Field(() => String) secretKey: string;
}

@ObjectType()
export class RevokeApiKeypairPayload {
  @Field(() => ApiKeypair) keypair: ApiKeypair;
}
