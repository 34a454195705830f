import { Arg, Args, Authorized, Ctx, Mutation, Query, Resolver } from "type-graphql";
import { Role } from "../common/enums";
import { PagingArgsType } from "../common/paging.args";
import type { AppContext } from "../schema/context";
import { CreateApiKeypairInput, RevokeApiKeypairInput } from "./keypair.inputs";
import { ApiKeypairConnection, CreateApiKeypairPayload, RevokeApiKeypairPayload, toApiKeypair } from "./keypair.type";

/** Key pairs grant API access at their role, so only a superadmin may see or manage them. */
@Resolver()
export class KeypairResolver {
  @Authorized(Role.SUPERADMIN)
  @Query(() => ApiKeypairConnection, { nullable: true })
  apiKeypairs(@Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.services.keypairs.list(paging);
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => CreateApiKeypairPayload, { nullable: true })
  async createApiKeypair(
    @Arg("input", () => CreateApiKeypairInput) input: CreateApiKeypairInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreateApiKeypairPayload> {
    const { keypair, secretKey } = await ctx.services.keypairs.create(input);
    return { keypair: toApiKeypair(keypair), secretKey };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => RevokeApiKeypairPayload, { nullable: true })
  async revokeApiKeypair(
    @Arg("input", () => RevokeApiKeypairInput) input: RevokeApiKeypairInput,
    @Ctx() ctx: AppContext,
  ): Promise<RevokeApiKeypairPayload> {
    return { keypair: toApiKeypair(await ctx.services.keypairs.revoke(input.id)) };
  }
}
